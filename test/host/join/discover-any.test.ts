import test from 'ava';
import { discoverAny } from '../../../host/join/discovery.ts';
import { JoinError } from '../../../host/join/errors.ts';

const a = new URL('https://10.0.0.1:6443');
const b = new URL('https://10.0.0.2:6443');
const c = new URL('https://10.0.0.3:6443');

test('a server that cannot be reached is skipped for the next one', async (t) => {
  const tried: string[] = [];
  const found = await discoverAny([a, b, c], async (url) => {
    tried.push(url.host);
    if (url === a) throw new JoinError('JOIN_UNREACHABLE', 'down');
    return `cluster via ${url.host}`;
  });
  t.is(found.server, b);
  t.is(found.cluster, 'cluster via 10.0.0.2:6443');
  t.deepEqual(tried, ['10.0.0.1:6443', '10.0.0.2:6443']);
});

test('any other refusal is final: every server of a cluster says the same', async (t) => {
  const tried: string[] = [];
  const error = await t.throwsAsync(
    discoverAny([a, b], async (url) => {
      tried.push(url.host);
      throw new JoinError('JOIN_CA_MISMATCH', 'another CA');
    }),
  );
  t.is((error as JoinError).code, 'JOIN_CA_MISMATCH');
  t.deepEqual(tried, ['10.0.0.1:6443']);
});

test('none reachable: the last reason is given', async (t) => {
  const error = await t.throwsAsync(
    discoverAny([a, b], async (url) => {
      throw new JoinError('JOIN_UNREACHABLE', `cannot reach ${url.host}`);
    }),
  );
  t.is(error?.message, 'cannot reach 10.0.0.2:6443');
});
