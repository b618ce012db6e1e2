/**
 * CustomResourceDefinitions served by a real server: a definition becomes Established and its
 * versions join routing and discovery without a restart; its objects are pruned, defaulted (also
 * on read), validated by schema and CEL rules, printed by their columns, scaled, watched, selected,
 * served in two versions, and deleted with their definition.
 */
import test from 'ava';
import { call, type HttpReply, type Identity, adminIdentity } from '../server-process.ts';
import { sharedInProcess } from '../in-process.ts';
import { waitFor } from '../ports.ts';
import { backupGroup, backupSchedules, widgetGroup, widgets } from './fixtures.ts';

const shared = sharedInProcess(test);
const server = () => ({ dataDir: shared.server().dataDir, port: shared.server().server.port });
let admin: Identity;
const api = (
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
  headers?: Record<string, string>,
): Promise<HttpReply> =>
  call(server(), method, path, (admin ??= adminIdentity(shared.server().dataDir)), body, contentType, headers);

const crds = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const schedules = `/apis/${backupGroup}/v1/namespaces/default/backupschedules`;

async function establish(definition: { metadata: { name: string } }): Promise<void> {
  const created = await api('POST', crds, definition);
  // an earlier test may have left it in place
  if (created.status !== 201 && created.body?.reason !== 'AlreadyExists')
    throw new Error(`creating ${definition.metadata.name}: ${JSON.stringify(created.body)}`);
  await waitFor(
    `${definition.metadata.name} to be established`,
    async () => {
      const crd = (await api('GET', `${crds}/${definition.metadata.name}`)).body;
      return (crd.status?.conditions ?? []).some(
        (c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True',
      );
    },
    5_000,
  );
}

const schedule = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: `${backupGroup}/v1`,
  kind: 'BackupSchedule',
  metadata: { name },
  spec: { schedule: '0 3 * * *', target: `vol-${name}`, ...spec },
});

test.serial('a definition is Established with its accepted names and stored version, and served at once', async (t) => {
  t.is((await api('GET', schedules)).status, 404, 'not served before its definition');
  const started = Date.now();
  await establish(backupSchedules);
  t.true(Date.now() - started < 2_000, 'established within two seconds');
  const crd = (await api('GET', `${crds}/${backupSchedules.metadata.name}`)).body;
  t.deepEqual(
    crd.status.conditions.map((c: { type: string; status: string; reason: string }) => [c.type, c.status, c.reason]),
    [
      ['NamesAccepted', 'True', 'NoConflicts'],
      ['Established', 'True', 'InitialNamesAccepted'],
    ],
  );
  t.is(crd.status.acceptedNames.listKind, 'BackupScheduleList');
  t.deepEqual(crd.status.storedVersions, ['v1']);
  const resources = (await api('GET', `/apis/${backupGroup}/v1`)).body;
  t.deepEqual(
    resources.resources.map((r: { name: string }) => r.name),
    ['backupschedules', 'backupschedules/status', 'backupschedules/scale'],
  );
  t.deepEqual(resources.resources[0].shortNames, ['bks']);
  t.deepEqual(resources.resources[0].categories, ['all', 'backups']);
  const aggregated = await api('GET', '/apis', undefined, undefined, {
    Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
  });
  const group = aggregated.body.items.find((g: { metadata: { name: string } }) => g.metadata.name === backupGroup);
  t.is(group?.versions[0].resources[0].resource, 'backupschedules');
  t.is((await api('GET', schedules)).status, 200);
});

test.serial('a write is pruned and defaulted, with unknown fields warned about or refused under Strict', async (t) => {
  const created = await api('POST', schedules, {
    ...schedule('nightly', { colour: 'blue', options: { keep: 'all' } }),
    extra: 1,
  });
  t.is(created.status, 201, JSON.stringify(created.body));
  t.deepEqual(created.body.spec, {
    schedule: '0 3 * * *',
    target: 'vol-nightly',
    options: { keep: 'all' },
    workers: 1,
    maxWorkers: 4,
    retention: '7d',
  });
  t.false('extra' in created.body);
  t.regex(String(created.headers.warning), /unknown field \\"spec\.colour\\"/);
  const strict = await api('POST', `${schedules}?fieldValidation=Strict`, schedule('strict', { colour: 'blue' }));
  t.is(strict.status, 400);
  t.regex(strict.body.message, /strict decoding error: unknown field "spec.colour"/);
  t.is((await api('GET', `${schedules}/strict`)).status, 404);
});

test.serial('schema and CEL rules refuse bad objects with 422 in upstream words, storing nothing', async (t) => {
  const bad = await api('POST', schedules, schedule('bad', { schedule: 'daily', workers: 9, target: 'disk-1' }));
  t.is(bad.status, 422);
  t.is(bad.body.reason, 'Invalid');
  t.is(
    bad.body.message,
    `BackupSchedule.${backupGroup} "bad" is invalid: spec.schedule: Invalid value: "daily": spec.schedule in body should match '^\\S+( \\S+){4}$'`,
  );
  const rules = await api('POST', schedules, schedule('rules', { workers: 9, target: 'disk-1' }));
  t.is(rules.status, 422);
  t.is(
    rules.body.message,
    `BackupSchedule.${backupGroup} "rules" is invalid: [spec: Invalid value: "object": workers may not exceed maxWorkers, spec: Invalid value: "object": target disk-1 is not a volume name]`,
  );
  t.is((await api('GET', `${schedules}/rules`)).status, 404);
  const moved = await api(
    'PATCH',
    `${schedules}/nightly`,
    { spec: { target: 'vol-other' } },
    'application/merge-patch+json',
  );
  t.is(moved.status, 422);
  t.regex(moved.body.message, /spec\.target: Invalid value: "object": target is immutable/);
  t.is((await api('GET', `${schedules}/nightly`)).body.spec.target, 'vol-nightly');
});

test.serial('merge and JSON patches apply; a strategic merge patch is 415 as upstream', async (t) => {
  const merged = await api('PATCH', `${schedules}/nightly`, { spec: { workers: 2 } }, 'application/merge-patch+json');
  t.is(merged.status, 200);
  t.is(merged.body.spec.workers, 2);
  const json = await api(
    'PATCH',
    `${schedules}/nightly`,
    [{ op: 'replace', path: '/spec/workers', value: 3 }],
    'application/json-patch+json',
  );
  t.is(json.body.spec.workers, 3);
  const strategic = await api(
    'PATCH',
    `${schedules}/nightly`,
    { spec: { workers: 1 } },
    'application/strategic-merge-patch+json',
  );
  t.is(strategic.status, 415);
  t.is(strategic.body.reason, 'UnsupportedMediaType');
  t.is((await api('GET', `${schedules}/nightly`)).body.spec.workers, 3);
});

test.serial(
  'status is written only through the status subresource; scale reads and writes the schema paths',
  async (t) => {
    const current = (await api('GET', `${schedules}/nightly`)).body;
    const ignored = await api('PUT', `${schedules}/nightly`, { ...current, status: { lastResult: 'ok' } });
    t.is(ignored.status, 200);
    t.is(ignored.body.status, undefined);
    const status = await api('PUT', `${schedules}/nightly/status`, {
      ...ignored.body,
      status: { lastResult: 'ok', workers: 3, selector: 'app=backup' },
    });
    t.is(status.status, 200, JSON.stringify(status.body));
    t.is(status.body.status.lastResult, 'ok');
    const scale = await api('GET', `${schedules}/nightly/scale`);
    t.like(scale.body, {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      spec: { replicas: 3 },
      status: { replicas: 3, selector: 'app=backup' },
    });
    const scaled = await api(
      'PATCH',
      `${schedules}/nightly/scale`,
      { spec: { replicas: 4 } },
      'application/merge-patch+json',
    );
    t.is(scaled.status, 200);
    t.is((await api('GET', `${schedules}/nightly`)).body.spec.workers, 4);
  },
);

test.serial('tables print the printer columns; selectors and watches work as for built-in kinds', async (t) => {
  await api('POST', schedules, {
    ...schedule('weekly', { target: 'vol-weekly' }),
    metadata: { name: 'weekly', labels: { tier: 'cold' } },
  });
  const table = await api('GET', schedules, undefined, undefined, {
    Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
  });
  t.deepEqual(
    table.body.columnDefinitions.map((c: { name: string; priority: number }) => [c.name, c.priority]),
    [
      ['Name', 0],
      ['Schedule', 0],
      ['Workers', 0],
      ['Last', 1],
      ['Age', 0],
    ],
  );
  t.deepEqual(table.body.rows[0].cells.slice(0, 4), ['nightly', '0 3 * * *', 4, 'ok']);
  t.is(table.body.rows[1].cells[3], null);
  const byLabel = await api('GET', `${schedules}?labelSelector=tier%3Dcold`);
  t.deepEqual(
    byLabel.body.items.map((o: { metadata: { name: string } }) => o.metadata.name),
    ['weekly'],
  );
  const byField = await api('GET', `${schedules}?fieldSelector=spec.target%3Dvol-nightly`);
  t.deepEqual(
    byField.body.items.map((o: { metadata: { name: string } }) => o.metadata.name),
    ['nightly'],
  );
  const unknownField = await api('GET', `${schedules}?fieldSelector=spec.schedule%3Dx`);
  t.is(unknownField.status, 400);
  const list = await api('GET', schedules);
  const watch = api(
    'GET',
    `${schedules}?watch=1&resourceVersion=${list.body.metadata.resourceVersion}&timeoutSeconds=1`,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  await api('DELETE', `${schedules}/weekly`);
  const body = (await watch).body;
  // one event parses as one JSON document; several are one per line
  const events: { type: string; object: { metadata: { name: string } } }[] =
    typeof body === 'string'
      ? body
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
      : [body];
  t.deepEqual(
    events.map((e) => [e.type, e.object.metadata.name]),
    [['DELETED', 'weekly']],
  );
});

test.serial('OpenAPI v3 publishes the schema for kubectl explain', async (t) => {
  const doc = (await api('GET', `/openapi/v3/apis/${backupGroup}/v1`)).body;
  const schema = Object.values(doc.components.schemas as Record<string, Record<string, any>>).find(
    (s) => s['x-kubernetes-group-version-kind']?.[0]?.kind === 'BackupSchedule',
  );
  t.is(schema?.properties.spec.properties.target.description, 'The volume to back up.');
  t.is(schema?.properties.metadata.type, 'object');
  t.truthy((await api('GET', '/openapi/v3')).body.paths[`apis/${backupGroup}/v1`]);
  const v2 = (await api('GET', '/openapi/v2')).body;
  t.truthy(
    Object.values(v2.definitions as Record<string, any>).find(
      (d) => d['x-kubernetes-group-version-kind']?.[0]?.kind === 'BackupSchedule',
    ),
  );
});

test.serial('a default added to the schema later shows on objects stored before it', async (t) => {
  const crd = (await api('GET', `${crds}/${backupSchedules.metadata.name}`)).body;
  crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.compression = {
    type: 'string',
    default: 'zstd',
  };
  const updated = await api('PUT', `${crds}/${backupSchedules.metadata.name}`, crd);
  t.is(updated.status, 200, JSON.stringify(updated.body));
  await waitFor(
    'the new default',
    async () => (await api('GET', `${schedules}/nightly`)).body.spec.compression === 'zstd',
    5_000,
  );
});

test.serial(
  'two versions serve the same objects, each in its own apiVersion; the preferred one is the newest',
  async (t) => {
    await establish(widgets);
    const created = await api('POST', `/apis/${widgetGroup}/v1beta1/widgets`, {
      apiVersion: `${widgetGroup}/v1beta1`,
      kind: 'Widget',
      metadata: { name: 'round' },
      spec: { size: 2 },
    });
    t.is(created.status, 201, JSON.stringify(created.body));
    t.is(created.body.apiVersion, `${widgetGroup}/v1beta1`);
    const asV1 = await api('GET', `/apis/${widgetGroup}/v1/widgets/round`);
    t.is(asV1.body.apiVersion, `${widgetGroup}/v1`);
    t.deepEqual(asV1.body.spec, { size: 2 });
    const group = (await api('GET', `/apis/${widgetGroup}`)).body;
    t.deepEqual(
      group.versions.map((v: { version: string }) => v.version),
      ['v1', 'v1beta1'],
    );
    t.is(group.preferredVersion.version, 'v1');
  },
);

test.serial(
  'deleting a definition deletes its objects first, waiting for their finalizers, then stops serving',
  async (t) => {
    const held = await api('POST', schedules, {
      ...schedule('held', {}),
      metadata: { name: 'held', finalizers: ['ops.bosun.test/keep'] },
    });
    t.is(held.status, 201);
    const deleted = await api('DELETE', `${crds}/${backupSchedules.metadata.name}`);
    t.is(deleted.status, 200);
    t.true(deleted.body.metadata.finalizers.includes('customresourcecleanup.apiextensions.k8s.io'));
    await waitFor(
      'the objects without finalizers to go',
      async () => (await api('GET', `${schedules}/nightly`)).status === 404,
      5_000,
    );
    const crd = (await api('GET', `${crds}/${backupSchedules.metadata.name}`)).body;
    t.truthy(crd.metadata.deletionTimestamp, 'the definition waits for the held object');
    t.true(
      crd.status.conditions.some(
        (c: { type: string; status: string }) => c.type === 'Terminating' && c.status === 'True',
      ),
    );
    const release = await api(
      'PATCH',
      `${schedules}/held`,
      { metadata: { finalizers: null } },
      'application/merge-patch+json',
    );
    t.is(release.status, 200);
    await waitFor(
      'the definition to go',
      async () => (await api('GET', `${crds}/${backupSchedules.metadata.name}`)).status === 404,
      5_000,
    );
    t.is((await api('GET', schedules)).status, 404, 'no longer served');
    t.is((await api('GET', `/apis/${backupGroup}/v1`)).status, 404);
  },
);

test.serial(
  'objects a custom resource owns are collected with it; custom resources go with their namespace',
  async (t) => {
    await establish(backupSchedules);
    const owner = await api('POST', schedules, schedule('owner', {}));
    t.is(owner.status, 201, JSON.stringify(owner.body));
    const ownerRef = {
      apiVersion: `${backupGroup}/v1`,
      kind: 'BackupSchedule',
      name: 'owner',
      uid: owner.body.metadata.uid,
    };
    const configMaps = '/api/v1/namespaces/default/configmaps';
    const owned = await api('POST', configMaps, { metadata: { name: 'owned', ownerReferences: [ownerRef] } });
    t.is(owned.status, 201);
    const shared = await api('POST', configMaps, {
      metadata: {
        name: 'shared',
        ownerReferences: [
          ownerRef,
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'owned', uid: owned.body.metadata.uid },
        ],
      },
    });
    t.is(shared.status, 201);
    t.is((await api('DELETE', `${schedules}/owner`)).status, 200);
    await waitFor(
      'the owned ConfigMap to be collected',
      async () => (await api('GET', `${configMaps}/owned`)).status === 404,
      5_000,
    );
    // the collector releases the shared ConfigMap (drops the deleted owner, keeps the other) in a
    // pass of its own, which may land a moment after the owned one is gone
    const ownerKinds = async () => {
      const kept = await api('GET', `${configMaps}/shared`);
      return kept.status === 200 ? kept.body.metadata.ownerReferences.map((r: { kind: string }) => r.kind) : [];
    };
    await waitFor(
      'the shared ConfigMap released, not deleted: only its ConfigMap owner left',
      async () => JSON.stringify(await ownerKinds()) === '["ConfigMap"]',
      5_000,
    );
    t.deepEqual(await ownerKinds(), ['ConfigMap'], 'released, not deleted');

    t.is((await api('POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } })).status, 201);
    const inDoomed = `/apis/${backupGroup}/v1/namespaces/doomed/backupschedules`;
    t.is((await api('POST', inDoomed, schedule('inside', {}))).status, 201);
    t.is((await api('DELETE', '/api/v1/namespaces/doomed')).status, 200);
    await waitFor(
      'the custom resource to go with its namespace',
      async () => (await api('GET', `${inDoomed}/inside`)).status === 404,
      5_000,
    );
  },
);

test.serial('a definition being deleted takes no new objects; a deprecated version says so in a Warning', async (t) => {
  const listed = await api('GET', `/apis/${widgetGroup}/v1beta1/widgets`);
  t.regex(String(listed.headers.warning), new RegExp(`${widgetGroup}/v1beta1 Widget is deprecated`));
  t.is((await api('GET', `/apis/${widgetGroup}/v1/widgets`)).headers.warning, undefined);
  const held = await api('POST', `/apis/${widgetGroup}/v1/widgets`, {
    apiVersion: `${widgetGroup}/v1`,
    kind: 'Widget',
    metadata: { name: 'held', finalizers: ['shapes.bosun.test/keep'] },
  });
  t.is(held.status, 201);
  t.is((await api('DELETE', `${crds}/${widgets.metadata.name}`)).status, 200);
  await waitFor(
    'the definition to be terminating',
    async () => {
      const crd = (await api('GET', `${crds}/${widgets.metadata.name}`)).body;
      return (crd.status?.conditions ?? []).some((c: { type: string }) => c.type === 'Terminating');
    },
    5_000,
  );
  const refused = await api('POST', `/apis/${widgetGroup}/v1/widgets`, {
    apiVersion: `${widgetGroup}/v1`,
    kind: 'Widget',
    metadata: { name: 'late' },
  });
  t.is(refused.status, 405);
  t.is(refused.body.message, `create is not supported on resources of kind "widgets.${widgetGroup}"`);
  t.is((await api('GET', `/apis/${widgetGroup}/v1/widgets/late`)).status, 404);
  await api(
    'PATCH',
    `/apis/${widgetGroup}/v1/widgets/held`,
    { metadata: { finalizers: null } },
    'application/merge-patch+json',
  );
  await waitFor(
    'the definition to go',
    async () => (await api('GET', `${crds}/${widgets.metadata.name}`)).status === 404,
    5_000,
  );
});

test.serial(
  'a streaming list (sendInitialEvents) of custom resources sends the state, then the end bookmark',
  async (t) => {
    await establish(backupSchedules);
    t.is((await api('POST', schedules, schedule('streamed', {}))).status, 201);
    const reply = await api(
      'GET',
      `${schedules}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1`,
    );
    const events = String(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body))
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            type: string;
            object: { metadata: { name?: string; annotations?: Record<string, string> } };
          },
      );
    t.deepEqual(events[0] && [events[0].type, events[0].object.metadata.name], ['ADDED', 'streamed']);
    const bookmark = events.find((e) => e.type === 'BOOKMARK');
    t.is(bookmark?.object.metadata.annotations?.['k8s.io/initial-events-end'], 'true');
  },
);

test.serial("server-side apply merges lists by the schema's list types: map keys, sets, atomic lists", async (t) => {
  await establish(backupSchedules);
  const apply = (manager: string, spec: Record<string, unknown>, force = false) =>
    api(
      'PATCH',
      `${schedules}/applied?fieldManager=${manager}${force ? '&force=true' : ''}`,
      { apiVersion: `${backupGroup}/v1`, kind: 'BackupSchedule', metadata: { name: 'applied' }, spec },
      'application/apply-patch+yaml',
    );
  const first = await apply('alice', {
    schedule: '0 1 * * *',
    target: 'vol-applied',
    copies: [{ site: 'a', zone: 'z1', keep: 1 }],
    tags: ['daily'],
    steps: ['snapshot'],
  });
  t.is(first.status, 201, JSON.stringify(first.body));
  const second = await apply('bob', { copies: [{ site: 'a', zone: 'z2', keep: 2 }], tags: ['offsite'] });
  t.is(second.status, 200, JSON.stringify(second.body));
  t.deepEqual(second.body.spec.copies, [
    { site: 'a', zone: 'z1', keep: 1 },
    { site: 'a', zone: 'z2', keep: 2 },
  ]);
  t.deepEqual(second.body.spec.tags, ['daily', 'offsite']);
  const bob = second.body.metadata.managedFields.find((e: { manager: string }) => e.manager === 'bob');
  t.deepEqual(Object.keys(bob.fieldsV1['f:spec']['f:copies']), ['k:{"site":"a","zone":"z2"}']);
  t.deepEqual(Object.keys(bob.fieldsV1['f:spec']['f:tags']), ['v:"offsite"']);
  const atomic = await apply('bob', { steps: ['verify'] });
  t.is(atomic.status, 409, 'an atomic list is one field, owned by its first applier');
  t.regex(atomic.body.message, /conflict with "alice".*\.spec\.steps/s);
  const forced = await apply('bob', { steps: ['verify'] }, true);
  t.deepEqual(forced.body.spec.steps, ['verify']);
  await apply('alice', { schedule: '0 1 * * *', target: 'vol-applied', window: { start: '01:00', end: '02:00' } });
  const atomicMap = await apply('bob', { window: { start: '03:00' } }, true);
  t.deepEqual(atomicMap.body.spec.window, { start: '03:00' }, 'an atomic map is replaced whole');
});

test.serial(
  'deleting a custom resource with orphan or foreground propagation keeps or first deletes its dependents',
  async (t) => {
    await establish(backupSchedules);
    const configMaps = '/api/v1/namespaces/default/configmaps';
    const ownedBy = async (name: string) => {
      const owner = await api('POST', schedules, schedule(name, {}));
      const ref = { apiVersion: `${backupGroup}/v1`, kind: 'BackupSchedule', name, uid: owner.body.metadata.uid };
      const dependent = await api('POST', configMaps, { metadata: { name: `${name}-data`, ownerReferences: [ref] } });
      t.is(dependent.status, 201);
    };
    await ownedBy('orphaner');
    const orphaned = await api('DELETE', `${schedules}/orphaner`, { propagationPolicy: 'Orphan' });
    t.is(orphaned.status, 200);
    await waitFor(
      'the orphaning owner to go',
      async () => (await api('GET', `${schedules}/orphaner`)).status === 404,
      5_000,
    );
    const kept = await api('GET', `${configMaps}/orphaner-data`);
    t.is(kept.status, 200, 'the dependent stays');
    t.is(kept.body.metadata.ownerReferences, undefined, 'without its owner');

    await ownedBy('foreground');
    await api(
      'PATCH',
      `${configMaps}/foreground-data`,
      { metadata: { finalizers: ['ops.bosun.test/hold'] } },
      'application/merge-patch+json',
    );
    const foreground = await api('DELETE', `${schedules}/foreground`, { propagationPolicy: 'Foreground' });
    t.true(foreground.body.metadata.finalizers.includes('foregroundDeletion'));
    await waitFor(
      'the dependent to be deleting',
      async () => Boolean((await api('GET', `${configMaps}/foreground-data`)).body.metadata?.deletionTimestamp),
      5_000,
    );
    t.is((await api('GET', `${schedules}/foreground`)).status, 200, 'the owner waits for its dependent');
    await api(
      'PATCH',
      `${configMaps}/foreground-data`,
      { metadata: { finalizers: null } },
      'application/merge-patch+json',
    );
    await waitFor(
      'the foreground owner to go',
      async () => (await api('GET', `${schedules}/foreground`)).status === 404,
      5_000,
    );
  },
);

test.serial('a custom resource whose built-in owner is deleted is collected', async (t) => {
  await establish(backupSchedules);
  const owner = await api('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'schedule-owner' } });
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'schedule-owner', uid: owner.body.metadata.uid };
  const owned = await api('POST', schedules, {
    ...schedule('owned-by-map', {}),
    metadata: { name: 'owned-by-map', ownerReferences: [ref] },
  });
  t.is(owned.status, 201);
  await api('DELETE', '/api/v1/namespaces/default/configmaps/schedule-owner');
  await waitFor(
    'the owned custom resource to be collected',
    async () => (await api('GET', `${schedules}/owned-by-map`)).status === 404,
    12_000,
  );
  t.pass();
});
