/** Server-side apply as a pure function: ownership, removal of dropped fields, conflicts, force. */
import test from 'ava';
import { applyConfiguration } from '../../../controlplane/api/apply/apply.ts';
import { ApiError } from '../../../kube/errors.ts';
import type { KubeObject } from '../../../kube/types.ts';

const now = '2026-01-01T00:00:00Z';
const deployment = (containers: object[], extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default' },
  spec: { replicas: 2, template: { spec: { containers } }, ...extra },
});
const apply = (current: KubeObject | undefined, applied: KubeObject, manager = 'ci', force = false) =>
  applyConfiguration(current, { applied, manager, force, now });
const containersOf = (o: KubeObject) =>
  (o.spec as any).template.spec.containers as { name: string; image: string; env?: { name: string }[] }[];

test('records the applied fields, with keyed list items', (t) => {
  const out = apply(undefined, deployment([{ name: 'app', image: 'app:1' }]));
  const entries = out.metadata.managedFields as any[];
  t.is(entries.length, 1);
  t.like(entries[0], { manager: 'ci', operation: 'Apply', apiVersion: 'apps/v1', time: now, fieldsType: 'FieldsV1' });
  t.deepEqual(entries[0].fieldsV1['f:spec']['f:template']['f:spec']['f:containers'], {
    'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} },
  });
  t.is(entries[0].fieldsV1['f:metadata'], undefined, "identity fields (name, namespace) are nobody's");
});

test('fields (and list items) dropped from the configuration are removed; others stay', (t) => {
  const first = apply(
    undefined,
    deployment(
      [
        { name: 'app', image: 'app:1', env: [{ name: 'A' }, { name: 'B' }] },
        { name: 'side', image: 's:1' },
      ],
      { paused: true },
    ),
  );
  // Something that is not an applier set this field; apply leaves it alone.
  (first.spec as any).minReadySeconds = 5;
  const second = apply(first, deployment([{ name: 'app', image: 'app:2', env: [{ name: 'A' }] }]));
  t.deepEqual(
    containersOf(second).map((c) => `${c.name}=${c.image}`),
    ['app=app:2'],
  );
  t.deepEqual(containersOf(second)[0]!.env, [{ name: 'A' }]);
  t.false('paused' in (second.spec as object));
  t.is((second.spec as any).minReadySeconds, 5);
});

test('another applier: same value is shared, different value conflicts, force takes only the conflict', (t) => {
  const spec = (extra: Record<string, unknown>, image = 'app:1') => ({
    ...extra,
    template: { spec: { containers: [{ name: 'app', image }] } },
  });
  const object = (s: Record<string, unknown>): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: s,
  });
  const first = apply(undefined, object(spec({ replicas: 2 })));
  const shared = apply(first, object({ replicas: 2 }), 'hpa');
  // ci stops applying replicas: hpa still owns it, so it stays.
  const dropped = apply(shared, object(spec({})));
  t.is((dropped.spec as any).replicas, 2);
  const err = t.throws(() => apply(dropped, object({ replicas: 2, ...spec({}, 'evil:9') }), 'hpa'));
  t.true(err instanceof ApiError && err.code === 409);
  t.regex(
    err!.message,
    /Apply failed with 1 conflict: conflict with "ci": \.spec\.template\.spec\.containers\[name="app"\]\.image/,
  );
  const forced = apply(dropped, object({ replicas: 2, ...spec({}, 'evil:9') }), 'hpa', true);
  t.is(containersOf(forced)[0]!.image, 'evil:9');
  const ci = JSON.stringify((forced.metadata.managedFields as any[]).find((e) => e.manager === 'ci').fieldsV1);
  t.false(ci.includes('f:image'), 'force moved the image to hpa');
  t.true(ci.includes('f:name'), 'the container item and its name stay shared with ci');
});
