import test from 'ava';
import { planTokenCleanup } from '../../../controlplane/controllers/token-cleaner.ts';
import type { KubeObject } from '../../../kube/types.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const now = new Date('2026-01-01T12:00:00Z');

function token(expiration: string | undefined, extra: Partial<{ namespace: string; type: string }> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'bootstrap-token-abcdef', namespace: extra.namespace ?? 'kube-system', uid: 'u1' },
    type: extra.type ?? 'bootstrap.kubernetes.io/token',
    data: { 'token-id': b64('abcdef'), ...(expiration ? { expiration: b64(expiration) } : {}) },
  } as KubeObject;
}

test('an expired token is deleted, this very one (by uid)', (t) => {
  t.like(planTokenCleanup(token('2026-01-01T11:59:59Z'), now).actions[0], {
    kind: 'delete',
    resource: 'secrets',
    namespace: 'kube-system',
    name: 'bootstrap-token-abcdef',
    uid: 'u1',
  });
});

test('a token is looked at again when it expires, at most an hour ahead', (t) => {
  t.deepEqual(planTokenCleanup(token('2026-01-01T12:00:30Z'), now), { actions: [], requeueAfterMs: 30_000 });
  t.deepEqual(planTokenCleanup(token('2027-01-01T12:00:00Z'), now), { actions: [], requeueAfterMs: 3_600_000 });
});

test('tokens without expiration, unreadable ones, other namespaces and other types are kept', (t) => {
  for (const secret of [
    token(undefined),
    token('not a time'),
    token('2026-01-01T11:00:00Z', { namespace: 'default' }),
    token('2026-01-01T11:00:00Z', { type: 'Opaque' }),
  ])
    t.deepEqual(planTokenCleanup(secret, now).actions, []);
});
