/**
 * PersistentVolumes, claims and StorageClasses as upstream serves them: discovery, defaults, the
 * DefaultStorageClass admission, field rules and immutability (422 in upstream's words), tables.
 */
import test from 'ava';
import { call, type HttpReply, type Identity } from './server-process.ts';
import { sharedInProcess } from './in-process.ts';

const shared = sharedInProcess(test);

type Any = Record<string, any>;

function send(
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  const s = shared.server();
  const identity: Identity = { cert: s.admin.cert, key: s.admin.key };
  const server = { dataDir: s.dataDir, port: Number(new URL(s.server.url).port) };
  return call(server, method, path, identity, body, contentType, headers);
}

const pvs = '/api/v1/persistentvolumes';
const claims = '/api/v1/namespaces/default/persistentvolumeclaims';
const classes = '/apis/storage.k8s.io/v1/storageclasses';
const mergePatch = 'application/merge-patch+json';

const pv = (name: string, spec: Any = {}): Any => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name },
  spec: { accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' }, hostPath: { path: `/srv/${name}` }, ...spec },
});
const claim = (name: string, spec: Any = {}): Any => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
});
const storageClass = (name: string, extra: Any = {}): Any => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name },
  provisioner: 'example.com/disk',
  ...extra,
});

function refusal(t: { is: (a: unknown, b: unknown, m?: string) => void }, reply: HttpReply, message: string): void {
  t.is(reply.status, 422, JSON.stringify(reply.body));
  t.is(reply.body.reason, 'Invalid');
  t.is(reply.body.message, message);
}

test.serial(
  'discovery lists persistentvolumes, claims and the storage.k8s.io kinds with their short names',
  async (t) => {
    const core = (await send('GET', '/api/v1')).body as Any;
    const byName = new Map((core.resources as Any[]).map((r) => [r.name, r]));
    t.deepEqual(byName.get('persistentvolumes')?.shortNames, ['pv']);
    t.false(byName.get('persistentvolumes')?.namespaced);
    t.deepEqual(byName.get('persistentvolumeclaims')?.shortNames, ['pvc']);
    t.truthy(byName.get('persistentvolumeclaims/status'));
    const storage = (await send('GET', '/apis/storage.k8s.io/v1')).body as Any;
    const names = (storage.resources as Any[]).map((r) => r.name);
    for (const name of ['storageclasses', 'csidrivers', 'csinodes', 'volumeattachments'])
      t.true(names.includes(name), name);
  },
);

test.serial('a PV, a claim and a class get upstream defaults; a claim starts Pending', async (t) => {
  const created = await send('POST', pvs, pv('defaults'));
  t.is(created.status, 201, JSON.stringify(created.body));
  t.is(created.body.spec.persistentVolumeReclaimPolicy, 'Retain');
  t.is(created.body.spec.volumeMode, 'Filesystem');
  t.is(created.body.status.phase, 'Pending');
  t.deepEqual(created.body.metadata.finalizers, ['kubernetes.io/pv-protection'], 'StorageObjectInUseProtection');
  const made = await send('POST', claims, claim('defaults', { storageClassName: '' }));
  t.is(made.status, 201, JSON.stringify(made.body));
  t.is(made.body.spec.volumeMode, 'Filesystem');
  t.is(made.body.status.phase, 'Pending');
  t.deepEqual(made.body.metadata.finalizers, ['kubernetes.io/pvc-protection']);
  const sc = await send('POST', classes, storageClass('plain'));
  t.is(sc.status, 201, JSON.stringify(sc.body));
  t.is(sc.body.reclaimPolicy, 'Delete');
  t.is(sc.body.volumeBindingMode, 'Immediate');
});

test.serial(
  'PV field rules: access modes, capacity, one volume source, local needs node affinity, class and mode',
  async (t) => {
    refusal(
      t,
      await send('POST', pvs, pv('bad-modes', { accessModes: ['ReadWriteOncePod', 'ReadWriteOnce'] })),
      'PersistentVolume "bad-modes" is invalid: spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes',
    );
    refusal(
      t,
      await send('POST', pvs, pv('zero', { capacity: { storage: '0' } })),
      'PersistentVolume "zero" is invalid: spec.capacity[storage]: Invalid value: "0": must be greater than zero',
    );
    refusal(
      t,
      await send('POST', pvs, pv('two', { local: { path: '/mnt/two' } })),
      'PersistentVolume "two" is invalid: spec.local: Forbidden: may not specify more than 1 volume type',
    );
    refusal(
      t,
      await send('POST', pvs, pv('local', { hostPath: undefined, local: { path: '/mnt/disk' } })),
      'PersistentVolume "local" is invalid: spec.nodeAffinity: Required value: Local volume requires node affinity',
    );
    refusal(
      t,
      await send('POST', pvs, pv('climb', { hostPath: { path: '/srv/../etc' } })),
      `PersistentVolume "climb" is invalid: spec.hostPath.path: Invalid value: "/srv/../etc": must not contain '..'`,
    );
    refusal(
      t,
      await send('POST', pvs, pv('mode', { volumeMode: 'Raw', persistentVolumeReclaimPolicy: 'Keep' })),
      'PersistentVolume "mode" is invalid: [spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": supported values: "Delete", "Recycle", "Retain", spec.volumeMode: Unsupported value: "Raw": supported values: "Block", "Filesystem"]',
    );
    refusal(
      t,
      await send('POST', pvs, pv('nothing', { hostPath: undefined, accessModes: [] })),
      'PersistentVolume "nothing" is invalid: [spec.accessModes: Required value, spec: Required value: must specify a volume type]',
    );
    t.is((await send('GET', `${pvs}/nothing`)).status, 404);
  },
);

test.serial('a PV keeps its volume source; it may be given a claim, a class and a new size', async (t) => {
  t.is((await send('POST', pvs, pv('fixed'))).status, 201);
  const moved = await send('PATCH', `${pvs}/fixed`, { spec: { hostPath: { path: '/etc' } } }, mergePatch);
  refusal(
    t,
    moved,
    'PersistentVolume "fixed" is invalid: spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation',
  );
  t.is((await send('GET', `${pvs}/fixed`)).body.spec.hostPath.path, '/srv/fixed');
  const grown = await send('PATCH', `${pvs}/fixed`, { spec: { capacity: { storage: '2Gi' } } }, mergePatch);
  t.is(grown.status, 200, JSON.stringify(grown.body));
});

test.serial('claim rules: a storage request above zero, at least one access mode, a class name', async (t) => {
  refusal(
    t,
    await send('POST', claims, claim('empty', { accessModes: [], resources: {} })),
    'PersistentVolumeClaim "empty" is invalid: [spec.accessModes: Required value: at least 1 access mode is required, spec.resources[storage]: Required value]',
  );
  refusal(
    t,
    await send('POST', claims, claim('badclass', { storageClassName: 'Fast_Disk' })),
    `PersistentVolumeClaim "badclass" is invalid: spec.storageClassName: Invalid value: "Fast_Disk": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
  );
});

test.serial(
  'a claim spec is fixed once created, except volumeName once and a storage request that grows when bound',
  async (t) => {
    const growable = storageClass('growable', {
      provisioner: 'kubernetes.io/no-provisioner',
      allowVolumeExpansion: true,
    });
    t.is((await send('POST', classes, growable)).status, 201);
    t.is((await send('POST', claims, claim('fixed', { storageClassName: 'growable' }))).status, 201);
    refusal(
      t,
      await send('PATCH', `${claims}/fixed`, { spec: { accessModes: ['ReadWriteMany'] } }, mergePatch),
      'PersistentVolumeClaim "fixed" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    );
    refusal(
      t,
      await send('PATCH', `${claims}/fixed`, { spec: { resources: { requests: { storage: '2Gi' } } } }, mergePatch),
      'PersistentVolumeClaim "fixed" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    );
    const named = await send('PATCH', `${claims}/fixed`, { spec: { volumeName: 'defaults' } }, mergePatch);
    t.is(named.status, 200, JSON.stringify(named.body));
    refusal(
      t,
      await send('PATCH', `${claims}/fixed`, { spec: { volumeName: 'other' } }, mergePatch),
      'PersistentVolumeClaim "fixed" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
    );
    const bound = await send('PATCH', `${claims}/fixed/status`, { status: { phase: 'Bound' } }, mergePatch);
    t.is(bound.status, 200, JSON.stringify(bound.body));
    const grown = await send(
      'PATCH',
      `${claims}/fixed`,
      { spec: { resources: { requests: { storage: '2Gi' } } } },
      mergePatch,
    );
    t.is(grown.status, 200, JSON.stringify(grown.body));
    const shrunk = await send(
      'PATCH',
      `${claims}/fixed`,
      { spec: { resources: { requests: { storage: '1Gi' } } } },
      mergePatch,
    );
    refusal(
      t,
      shrunk,
      'PersistentVolumeClaim "fixed" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than previous value',
    );
    t.is((await send('GET', `${claims}/fixed`)).body.spec.resources.requests.storage, '2Gi');
  },
);

test.serial('a claim of a class without allowVolumeExpansion may not grow (403), and keeps its size', async (t) => {
  t.is((await send('POST', claims, claim('rigid', { storageClassName: '', volumeName: 'defaults' }))).status, 201);
  t.is((await send('PATCH', `${claims}/rigid/status`, { status: { phase: 'Bound' } }, mergePatch)).status, 200);
  const grown = await send(
    'PATCH',
    `${claims}/rigid`,
    { spec: { resources: { requests: { storage: '5Gi' } } } },
    mergePatch,
  );
  t.is(grown.status, 403, JSON.stringify(grown.body));
  t.is(
    grown.body.message,
    'persistentvolumeclaims "rigid" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
  );
  t.is((await send('GET', `${claims}/rigid`)).body.spec.resources.requests.storage, '1Gi');
});

test.serial(
  'StorageClass rules: a provisioner, known policies; provisioner, parameters, policy and binding mode are fixed',
  async (t) => {
    refusal(
      t,
      await send('POST', classes, storageClass('late', { volumeBindingMode: 'Later', reclaimPolicy: 'Recycle' })),
      'StorageClass.storage.k8s.io "late" is invalid: [reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain", volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"]',
    );
    refusal(
      t,
      await send('POST', classes, storageClass('none', { provisioner: '' })),
      'StorageClass.storage.k8s.io "none" is invalid: provisioner: Required value',
    );
    t.is((await send('POST', classes, storageClass('fixed', { parameters: { tier: 'gold' } }))).status, 201);
    refusal(
      t,
      await send(
        'PATCH',
        `${classes}/fixed`,
        { provisioner: 'other.io/disk', parameters: { tier: 'lead' }, volumeBindingMode: 'WaitForFirstConsumer' },
        mergePatch,
      ),
      'StorageClass.storage.k8s.io "fixed" is invalid: [parameters: Forbidden: updates to parameters are forbidden., provisioner: Forbidden: updates to provisioner are forbidden., volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable]',
    );
    const annotated = await send(
      'PATCH',
      `${classes}/fixed`,
      { allowVolumeExpansion: true, metadata: { labels: { tier: 'gold' } } },
      mergePatch,
    );
    t.is(annotated.status, 200, JSON.stringify(annotated.body));
  },
);

test.serial('DefaultStorageClass: a claim without a class gets the newest default; "" stays without one', async (t) => {
  const isDefault = { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } };
  t.is(
    (await send('POST', classes, storageClass('older-default', { metadata: { name: 'older-default', ...isDefault } })))
      .status,
    201,
  );
  await new Promise((resolve) => setTimeout(resolve, 1100)); // creation timestamps have one-second resolution
  t.is(
    (await send('POST', classes, storageClass('newer-default', { metadata: { name: 'newer-default', ...isDefault } })))
      .status,
    201,
  );
  const defaulted = await send('POST', claims, claim('defaulted'));
  t.is(defaulted.status, 201, JSON.stringify(defaulted.body));
  t.is(defaulted.body.spec.storageClassName, 'newer-default');
  const without = await send('POST', claims, claim('classless', { storageClassName: '' }));
  t.is(without.body.spec.storageClassName, '');
});

test.serial('tables: kubectl get pv and sc print upstream columns', async (t) => {
  const get = async (path: string) =>
    (await send('GET', path, undefined, undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' }))
      .body as Any;
  const pvTable = await get(pvs);
  t.deepEqual(
    pvTable.columnDefinitions.map((c: Any) => c.name),
    [
      'Name',
      'Capacity',
      'Access Modes',
      'Reclaim Policy',
      'Status',
      'Claim',
      'StorageClass',
      'VolumeAttributesClass',
      'Reason',
      'Age',
      'VolumeMode',
    ],
  );
  const row = pvTable.rows.find((r: Any) => r.cells[0] === 'defaults');
  t.deepEqual(row.cells.slice(1, 5), ['1Gi', 'RWO', 'Retain', 'Pending']);
  const scTable = await get(classes);
  t.true(scTable.rows.some((r: Any) => r.cells[0] === 'newer-default (default)'));
});

const statefulSet = (templateSpec: Any): Any => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'db' },
  spec: {
    serviceName: 'db',
    replicas: 0,
    selector: { matchLabels: { app: 'db' } },
    template: {
      metadata: { labels: { app: 'db' } },
      spec: {
        containers: [{ name: 'db', image: 'busybox:1.36', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      },
    },
    volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: templateSpec }],
  },
});

test.serial('a StatefulSet may mount its claim templates (kubectl apply of a chart-style set)', async (t) => {
  const sets = '/apis/apps/v1/namespaces/default/statefulsets';
  const made = await send(
    'POST',
    sets,
    statefulSet({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }),
  );
  t.is(made.status, 201, JSON.stringify(made.body));
  t.is((await send('DELETE', `${sets}/db`)).status, 200);
});

test.serial('bosun init makes the default local-path class once and leaves an existing one alone', async (t) => {
  const { ensureDefaultStorageClass } = await import('../../host/init/default-storage-class.ts');
  const client = shared.client();
  t.true(await ensureDefaultStorageClass(client));
  const made = (await send('GET', `${classes}/local-path`)).body;
  t.like(made, {
    provisioner: 'bosun.io/local-path',
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
    allowVolumeExpansion: true,
    metadata: { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
  });
  const patched = await send(
    'PATCH',
    `${classes}/local-path`,
    { metadata: { annotations: { 'storageclass.kubernetes.io/is-default-class': 'false' } } },
    mergePatch,
  );
  t.is(patched.status, 200);
  t.false(await ensureDefaultStorageClass(client));
  t.is(
    (await send('GET', `${classes}/local-path`)).body.metadata.annotations[
      'storageclass.kubernetes.io/is-default-class'
    ],
    'false',
  );
});
