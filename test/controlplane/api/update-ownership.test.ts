/**
 * managedFields upkeep for writes that are not applies, step by step as upstream's field manager
 * stores it: each create, replace or patch records an Update entry for what it set or changed, takes
 * those fields from other managers, merges with its own earlier entry, and empty entries go.
 * FieldsV1 lists leaves and list items, as the apply code records them.
 */
import test from 'ava';
import {
  recordUpdate,
  managerFromUserAgent,
  type UpdateWriter,
} from '../../../controlplane/api/apply/update-ownership.ts';
import { applyConfiguration } from '../../../controlplane/api/apply/apply.ts';
import { describeOwner } from '../../../controlplane/api/apply/managed-fields-entry.ts';
import { ApiError } from '../../../kube/errors.ts';
import type { KubeObject } from '../../../kube/types.ts';

const time = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00Z`;
const writer = (manager: string, minute: number, subresource?: string): UpdateWriter => ({
  manager,
  apiVersion: 'apps/v1',
  now: time(minute),
  ...(subresource ? { subresource } : {}),
});
const containers = (image: string) => ({ template: { spec: { containers: [{ name: 'web', image }] } } });
const base = (spec: object, status?: object): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec,
  ...(status ? { status } : {}),
});
const webItem = { 'k:{"name":"web"}': { '.': {}, 'f:image': {}, 'f:name': {} } };

const entry = (manager: string, minute: number, fieldsV1: object, subresource?: string) => ({
  manager,
  operation: 'Update',
  apiVersion: 'apps/v1',
  time: time(minute),
  fieldsType: 'FieldsV1',
  fieldsV1,
  ...(subresource ? { subresource } : {}),
});
const createdItem = {
  'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:name': {} } } } } },
};
const editedImage = { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { 'f:image': {} } } } } };

interface Step {
  readonly title: string;
  /** The object the client sends (or the patch leaves), given the stored one. */
  readonly write: (live: KubeObject | undefined) => KubeObject;
  readonly by: UpdateWriter;
  /** metadata.managedFields as upstream stores them after this step, given those before it. */
  readonly expected: (before: unknown[]) => unknown[];
}

const steps: Step[] = [
  {
    title: 'kubectl create records every field it set',
    write: () => base({ replicas: 1, ...containers('nginx:1') }),
    by: writer('kubectl-create', 0),
    expected: () => [
      entry('kubectl-create', 0, {
        'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': webItem } } },
      }),
    ],
  },
  {
    title: 'kubectl edit takes the image it changed and adds a label; create keeps the rest',
    write: (live) => ({
      ...structuredClone(live!),
      metadata: { ...live!.metadata, labels: { team: 'a' } },
      spec: { replicas: 1, ...containers('nginx:2') },
    }),
    by: writer('kubectl-edit', 1),
    expected: () => [
      entry('kubectl-create', 0, { 'f:spec': { 'f:replicas': {}, ...createdItem['f:spec'] } }),
      entry('kubectl-edit', 1, { 'f:metadata': { 'f:labels': { 'f:team': {} } }, 'f:spec': editedImage }),
    ],
  },
  {
    title: 'kubectl patch of replicas takes it from create',
    write: (live) => ({ ...structuredClone(live!), spec: { ...(live!.spec as object), replicas: 3 } }),
    by: writer('kubectl-patch', 2),
    expected: ([, edit]) => [
      entry('kubectl-create', 0, createdItem),
      edit,
      entry('kubectl-patch', 2, { 'f:spec': { 'f:replicas': {} } }),
    ],
  },
  {
    title: 'a write that changes nothing keeps every entry and time as it was',
    write: (live) => structuredClone(live!),
    by: writer('kubectl-patch', 3),
    expected: (before) => before,
  },
  {
    title: 'the status subresource records status fields under subresource: status',
    write: (live) => ({ ...structuredClone(live!), status: { replicas: 3, readyReplicas: 2 } }),
    by: writer('kube-controller-manager', 4, 'status'),
    expected: (before) => [
      ...before,
      entry('kube-controller-manager', 4, { 'f:status': { 'f:readyReplicas': {}, 'f:replicas': {} } }, 'status'),
    ],
  },
  {
    title: 'kubectl edit drops its label and takes replicas: one merged entry, and the emptied patch entry goes',
    write: (live) => {
      const next = structuredClone(live!);
      delete next.metadata.labels;
      (next.spec as { replicas: number }).replicas = 4;
      return next;
    },
    by: writer('kubectl-edit', 5),
    expected: ([create, , , status]) => [
      create,
      status,
      entry('kubectl-edit', 5, { 'f:spec': { 'f:replicas': {}, ...editedImage } }),
    ],
  },
];

test('create → edit → patch → status: stored managedFields step by step', (t) => {
  let live: KubeObject | undefined;
  let before: unknown[] = [];
  for (const step of steps) {
    const next = recordUpdate(live, step.write(live), step.by);
    const stored = (next.metadata.managedFields ?? []) as object[];
    const expected = step.expected(before) as object[];
    t.deepEqual(stored, expected, step.title);
    t.deepEqual(
      stored.map((e) => Object.keys(e)),
      expected.map((e) => Object.keys(e)),
      `${step.title}: fields in upstream's order`,
    );
    before = stored;
    live = next;
  }
});

test('a client resets managedFields with [{}] or []; a list that does not decode keeps the stored entries', (t) => {
  const created = recordUpdate(undefined, base({ replicas: 1 }), writer('kubectl-create', 0));
  const sending = (managedFields: unknown, from = created) => ({
    ...structuredClone(from),
    metadata: { ...from.metadata, managedFields: managedFields as never },
  });
  for (const reset of [[{}], []]) {
    t.is(
      recordUpdate(created, sending(reset), writer('kubectl-patch', 1)).metadata.managedFields,
      undefined,
      'a reset that changes nothing else leaves no entry at all',
    );
  }
  const changedToo = recordUpdate(created, { ...sending([{}]), spec: { replicas: 2 } }, writer('kubectl-patch', 1));
  t.deepEqual(changedToo.metadata.managedFields, [entry('kubectl-patch', 1, { 'f:spec': { 'f:replicas': {} } })]);
  for (const invalid of [
    [{ manager: 'x', operation: 'Bogus', apiVersion: 'v1', fieldsType: 'FieldsV1' }],
    [{ manager: 'm', fieldsV1: {} }],
    'text',
  ]) {
    t.deepEqual(
      recordUpdate(created, sending(invalid), writer('kubectl-patch', 1)).metadata.managedFields,
      created.metadata.managedFields,
      JSON.stringify(invalid),
    );
  }
  const rewritten = [entry('someone', 0, { 'f:spec': { 'f:replicas': {} } })];
  t.deepEqual(
    recordUpdate(created, sending(rewritten), writer('kubectl-edit', 1)).metadata.managedFields,
    rewritten,
    'valid entries a client sends replace the stored ones',
  );
  const status = recordUpdate(created, { ...sending(rewritten), status: { replicas: 1 } }, writer('kcm', 1, 'status'));
  t.is(
    (status.metadata.managedFields as { manager: string }[])[0]!.manager,
    'kubectl-create',
    'a status write cannot rewrite ownership',
  );
});

test('more than ten Update entries: the oldest merge into ancient-changes', (t) => {
  let object = recordUpdate(undefined, base({ replicas: 0 }), writer('creator', 0));
  for (let i = 1; i <= 11; i++) {
    const next = structuredClone(object);
    (next.metadata.annotations ??= {})[`a${i}`] = 'x';
    object = recordUpdate(object, next, writer(`writer-${i}`, i));
  }
  const entries = object.metadata.managedFields as { manager: string; time: string; fieldsV1: Record<string, any> }[];
  t.is(entries.length, 10);
  const ancient = entries.find((e) => e.manager === 'ancient-changes')!;
  t.like(ancient, { operation: 'Update', apiVersion: 'apps/v1', time: time(2) });
  t.deepEqual(
    Object.keys(ancient.fieldsV1),
    ['f:metadata', 'f:spec'],
    'the oldest three (creator, writer-1, writer-2) merged',
  );
  t.deepEqual(Object.keys(ancient.fieldsV1['f:metadata']['f:annotations']), ['f:a1', 'f:a2']);
  t.false(entries.some((e) => ['creator', 'writer-1', 'writer-2'].includes(e.manager)));
});

test('without ?fieldManager= the manager is the User-Agent program name', (t) => {
  t.is(managerFromUserAgent('kubectl/v1.32.4 (linux/amd64) kubernetes/abc'), 'kubectl');
  t.is(managerFromUserAgent('my-operator'), 'my-operator');
  t.is(managerFromUserAgent(undefined), '');
});

test('an apply that changes a field an Update manager owns conflicts, naming it; force takes the field', (t) => {
  const created = recordUpdate(undefined, base({ replicas: 1, ...containers('nginx:1') }), writer('kubectl-create', 0));
  const applied = base({ replicas: 5 });
  const err = t.throws(() => applyConfiguration(created, { applied, manager: 'kubectl', force: false, now: time(1) }));
  t.true(err instanceof ApiError && err.code === 409);
  t.is(err!.message, 'Apply failed with 1 conflict: conflict with "kubectl-create" using apps/v1: .spec.replicas');
  t.notThrows(
    () =>
      applyConfiguration(created, { applied: base({ replicas: 1 }), manager: 'kubectl', force: false, now: time(1) }),
    'the same value is shared',
  );
  const forced = applyConfiguration(created, { applied, manager: 'kubectl', force: true, now: time(1) });
  const [apply, create] = forced.metadata.managedFields as { manager: string; fieldsV1: object }[];
  t.is(apply!.manager, 'kubectl', 'Apply entries come first, as upstream stores them');
  t.false(JSON.stringify(create!.fieldsV1).includes('f:replicas'), 'kubectl-create no longer owns replicas');
  t.true(JSON.stringify(create!.fieldsV1).includes('f:image'));
  t.is(
    describeOwner({ manager: 'kcm', operation: 'Update', apiVersion: 'v1', subresource: 'status' }),
    '"kcm" with subresource "status" using v1',
  );
});

test('a CSR approval owns the status it wrote, not the spec fields the client also sent (they are not stored)', (t) => {
  const csr: KubeObject = {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name: 'node' },
    spec: { signerName: 'kubernetes.io/kubelet-serving' },
  };
  const approved = {
    ...structuredClone(csr),
    spec: { signerName: 'other' },
    status: { conditions: [{ type: 'Approved', status: 'True' }] },
  };
  const out = recordUpdate(csr, approved, {
    manager: 'kubectl',
    apiVersion: 'certificates.k8s.io/v1',
    subresource: 'approval',
    now: time(0),
  });
  t.deepEqual(out.metadata.managedFields, [
    {
      manager: 'kubectl',
      operation: 'Update',
      apiVersion: 'certificates.k8s.io/v1',
      time: time(0),
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:status': { 'f:conditions': { 'k:{"type":"Approved"}': { '.': {}, 'f:status': {}, 'f:type': {} } } },
      },
      subresource: 'approval',
    },
  ]);
});

test('several conflicts are grouped by manager, one "- path" line per field, as upstream words them', (t) => {
  const created = recordUpdate(
    undefined,
    base({ replicas: 1, paused: false, ...containers('nginx:1') }),
    writer('kubectl-create', 0),
  );
  const edited = recordUpdate(
    created,
    { ...structuredClone(created), spec: { replicas: 1, paused: false, ...containers('nginx:2') } },
    writer('kubectl-edit', 1),
  );
  const err = t.throws(() =>
    applyConfiguration(edited, {
      applied: base({ replicas: 3, paused: true, ...containers('nginx:3') }),
      manager: 'kubectl',
      force: false,
      now: time(2),
    }),
  );
  t.is(
    err?.message,
    'Apply failed with 3 conflicts: conflicts with "kubectl-create" using apps/v1:\n- .spec.paused\n- .spec.replicas\nconflicts with "kubectl-edit" using apps/v1:\n- .spec.template.spec.containers[name="web"].image',
  );
});
