/**
 * One store, two APIs: core/v1 events and events.k8s.io/v1 events are the same objects,
 * converted as upstream converts them; kubectl sees events written either way.
 */
import test from 'ava';
import type { KubeObject } from '../../../kube/types.ts';
import { coreToEventsV1, eventsV1ToCore } from '../../../controlplane/api/event-conversion.ts';
import { useKubectlBed } from '../kubectl-bed.ts';

const core = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'web.1', namespace: 'default' },
  involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', uid: 'u-1' },
  reason: 'Pulled',
  message: 'Container image "busybox:1.36" already present on machine',
  source: { component: 'kubelet', host: 'node-a' },
  count: 3,
  firstTimestamp: '2026-01-01T00:00:00Z',
  lastTimestamp: '2026-01-01T00:05:00Z',
  type: 'Normal',
  reportingComponent: 'kubelet',
  reportingInstance: 'node-a',
} as KubeObject;

test('conversion maps the renamed fields both ways and keeps the shared ones', (t) => {
  const v1 = coreToEventsV1(core) as Record<string, unknown>;
  t.like(v1, {
    regarding: core.involvedObject,
    note: core.message,
    deprecatedSource: core.source,
    deprecatedCount: 3,
    deprecatedFirstTimestamp: core.firstTimestamp,
    deprecatedLastTimestamp: core.lastTimestamp,
    reportingController: 'kubelet',
    reportingInstance: 'node-a',
    reason: 'Pulled',
    type: 'Normal',
  });
  for (const gone of [
    'involvedObject',
    'message',
    'source',
    'count',
    'firstTimestamp',
    'lastTimestamp',
    'reportingComponent',
  ])
    t.false(gone in v1, gone);
  t.deepEqual(eventsV1ToCore(v1 as KubeObject), core);
});

const bed = useKubectlBed({ controllers: false });

test('a core event shows through events.k8s.io/v1, and an events.k8s.io/v1 event through kubectl get events and kubectl events', async (t) => {
  await bed.ok(t, 'create', '-f', bed.file('core.json', JSON.stringify(core)));
  const asV1 = JSON.parse(await bed.ok(t, 'get', 'events.v1.events.k8s.io', 'web.1', '-o', 'json')) as Record<
    string,
    unknown
  >;
  t.like(asV1, {
    apiVersion: 'events.k8s.io/v1',
    note: core.message,
    regarding: { kind: 'Pod', name: 'web' },
    deprecatedCount: 3,
    reportingController: 'kubelet',
  });

  await bed.ok(
    t,
    'create',
    '-f',
    bed.file(
      'v1.yaml',
      `apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: db.1, namespace: default}
eventTime: "2026-01-01T00:06:00.000000Z"
reportingController: example.com/operator
reportingInstance: operator-0
action: Reconcile
reason: Resized
note: volume grown to 2Gi
type: Normal
regarding: {kind: StatefulSet, namespace: default, name: db, apiVersion: apps/v1}
`,
    ),
  );
  const asCore = JSON.parse(await bed.ok(t, 'get', 'events', 'db.1', '-o', 'json')) as Record<string, unknown>;
  t.like(asCore, {
    apiVersion: 'v1',
    message: 'volume grown to 2Gi',
    involvedObject: { kind: 'StatefulSet', name: 'db' },
    reportingComponent: 'example.com/operator',
    action: 'Reconcile',
  });
  const table = await bed.ok(t, 'get', 'events');
  t.regex(table, /Normal\s+Resized\s+statefulset\/db\s+volume grown to 2Gi/);
  t.regex(table, /Normal\s+Pulled\s+pod\/web\s+Container image/);
  const v1Table = await bed.ok(t, 'get', 'events.v1.events.k8s.io');
  t.regex(
    v1Table,
    /Normal\s+Resized\s+statefulset\/db\s+volume grown to 2Gi/,
    'the events.k8s.io table has the event columns',
  );
  const events = await bed.ok(t, 'events');
  t.regex(events, /Resized\s+StatefulSet\/db\s+volume grown to 2Gi/);
  t.regex(events, /Pulled\s+Pod\/web\s+Container image/);
  t.regex(
    await bed.ok(t, 'get', 'events.v1.events.k8s.io', '--field-selector', 'regarding.kind=StatefulSet', '-o', 'name'),
    /^event\.events\.k8s\.io\/db\.1\n$/,
  );
});
