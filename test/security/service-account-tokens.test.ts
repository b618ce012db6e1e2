/**
 * Service-account tokens against a real server: lifetimes within upstream's bounds and bosun's
 * 48 h cap, tokens bound to a pod or a secret die with it, and the signing key is published (kid,
 * OIDC discovery, JWKS) for anyone who verifies tokens outside the cluster.
 */
import test from 'ava';
import { createPublicKey, verify } from 'node:crypto';
import {
  adminIdentity,
  call,
  startServerProcess,
  type Identity,
  type ServerProcess,
} from '../controlplane/server-process.ts';

let server: ServerProcess;
let admin: Identity;
const ns = '/api/v1/namespaces/default';

test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
  admin = adminIdentity(server.dataDir);
  for (const name of ['robot', 'other']) {
    const created = await call(server, 'POST', `${ns}/serviceaccounts`, admin, { metadata: { name } });
    if (created.status !== 201) throw new Error(JSON.stringify(created.body));
  }
});
test.after.always(async () => {
  await server?.destroy();
});

const tokenFor = (account: string, spec: Record<string, unknown>) =>
  call(server, 'POST', `${ns}/serviceaccounts/${account}/token`, admin, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec,
  });

function claimsOf(token: string): { header: Record<string, string>; payload: Record<string, any> } {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header!, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload!, 'base64url').toString()),
  };
}

/** Whether the server takes the token: 401 once it is dead, 403/200 while it lives. */
async function authenticates(token: string): Promise<number> {
  return (await call(server, 'GET', `${ns}/configmaps`, { token })).status;
}

async function eventually(what: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await what()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return what();
}

test('a token asked for 1e9 seconds lasts 48 hours, with a warning', async (t) => {
  const reply = await tokenFor('robot', { expirationSeconds: 1e9 });
  t.is(reply.status, 201, JSON.stringify(reply.body));
  t.is(reply.body.spec.expirationSeconds, 48 * 3600);
  const { payload } = claimsOf(reply.body.status.token);
  t.is(payload.exp - payload.iat, 48 * 3600);
  t.is(Date.parse(reply.body.status.expirationTimestamp), payload.exp * 1000);
  t.regex(String(reply.headers.warning), /requested expiration of 1000000000 seconds shortened to 172800 seconds/);
});

test('lifetimes upstream refuses: under 10 minutes is 422, not an integer is 400; nothing is issued', async (t) => {
  const short = await tokenFor('robot', { expirationSeconds: 599 });
  t.is(short.status, 422, JSON.stringify(short.body));
  t.is(short.body.reason, 'Invalid');
  t.is(
    short.body.message,
    'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes',
  );
  for (const bad of [600.5, '3600', true]) {
    const reply = await tokenFor('robot', { expirationSeconds: bad });
    t.is(reply.status, 400, `${JSON.stringify(bad)}: ${JSON.stringify(reply.body)}`);
    t.is(reply.body.reason, 'BadRequest');
    t.is(reply.body.status?.token, undefined);
  }
  t.is((await call(server, 'GET', '/readyz')).status, 200);
});

test('a pod-bound token stops authenticating once the pod is gone, even when a pod of the same name returns', async (t) => {
  const pod = {
    metadata: { name: 'worker' },
    spec: { serviceAccountName: 'robot', containers: [{ name: 'c', image: 'img:1' }] },
  };
  const created = await call(server, 'POST', `${ns}/pods`, admin, pod);
  t.is(created.status, 201, JSON.stringify(created.body));
  const bound = await tokenFor('robot', {
    boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'worker', uid: created.body.metadata.uid },
  });
  t.is(bound.status, 201, JSON.stringify(bound.body));
  const token = bound.body.status.token as string;
  t.deepEqual(claimsOf(token).payload['kubernetes.io'].pod, { name: 'worker', uid: created.body.metadata.uid });
  t.not(await authenticates(token), 401, 'alive while its pod is');

  t.is((await call(server, 'DELETE', `${ns}/pods/worker?gracePeriodSeconds=0`, admin)).status, 200);
  t.true(await eventually(async () => (await authenticates(token)) === 401, 3_000), 'dead with its pod');
  t.is((await call(server, 'POST', `${ns}/pods`, admin, pod)).status, 201);
  t.is(await authenticates(token), 401, 'a new pod of the same name is not the pod it was issued for');
  // the account's unbound tokens and the server are unaffected
  const unbound = await tokenFor('robot', {});
  t.not(await authenticates(unbound.body.status.token), 401);
  t.is((await call(server, 'GET', '/readyz')).status, 200);
});

test('binding refused as upstream refuses it: another account pod 400, a stale uid 409, another kind 400', async (t) => {
  const created = await call(server, 'POST', `${ns}/pods`, admin, {
    metadata: { name: 'runs-as-other' },
    spec: { serviceAccountName: 'other', containers: [{ name: 'c', image: 'img:1' }] },
  });
  t.is(created.status, 201);
  const otherAccount = await tokenFor('robot', {
    boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'runs-as-other' },
  });
  t.is(otherAccount.status, 400, JSON.stringify(otherAccount.body));
  t.is(
    otherAccount.body.message,
    'cannot bind token for serviceaccount "robot" to pod running with different serviceaccount name.',
  );
  const stale = await tokenFor('other', {
    boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'runs-as-other', uid: 'not-the-uid' },
  });
  t.is(stale.status, 409, JSON.stringify(stale.body));
  const configMap = await tokenFor('robot', { boundObjectRef: { kind: 'ConfigMap', apiVersion: 'v1', name: 'x' } });
  t.is(configMap.status, 400, JSON.stringify(configMap.body));
  t.is(configMap.body.message, 'cannot bind token to object of type /v1, Kind=ConfigMap');
});

test('a secret-bound token dies with its secret', async (t) => {
  t.is((await call(server, 'POST', `${ns}/secrets`, admin, { metadata: { name: 'anchor' }, data: {} })).status, 201);
  const bound = await tokenFor('robot', { boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: 'anchor' } });
  t.is(bound.status, 201, JSON.stringify(bound.body));
  const token = bound.body.status.token as string;
  t.not(await authenticates(token), 401);
  t.is((await call(server, 'DELETE', `${ns}/secrets/anchor`, admin)).status, 200);
  t.is(await authenticates(token), 401);
});

test('tokens carry a kid that the published key set names, and the discovery documents are served', async (t) => {
  const issued = await tokenFor('robot', {});
  const token = issued.body.status.token as string;
  const { header, payload } = claimsOf(token);
  t.is(header.alg, 'RS256');
  t.regex(header.kid ?? '', /^[A-Za-z0-9_-]{43}$/, 'base64url of a SHA-256');

  // any service account may read them (system:service-account-issuer-discovery), anonymous may not
  const robot: Identity = { token };
  const discovery = await call(server, 'GET', '/.well-known/openid-configuration', robot);
  t.is(discovery.status, 200, JSON.stringify(discovery.body));
  t.is(discovery.body.issuer, payload.iss);
  t.is(discovery.body.issuer, 'https://kubernetes.default.svc.cluster.local');
  t.is(discovery.body.jwks_uri, `https://127.0.0.1:${server.port}/openid/v1/jwks`);
  t.deepEqual(discovery.body.id_token_signing_alg_values_supported, ['RS256']);
  const jwks = await call(server, 'GET', '/openid/v1/jwks', robot);
  t.is(jwks.status, 200);
  t.regex(String(jwks.headers['content-type']), /^application\/jwk-set\+json/);
  const key = (jwks.body.keys as any[]).find((k) => k.kid === header.kid);
  t.truthy(key, 'the token kid is in the key set');
  t.like(key, { use: 'sig', kty: 'RSA', alg: 'RS256' });
  // the published key verifies the token: a relying party needs nothing else
  const [head, body, signature] = token.split('.');
  t.true(
    verify(
      'sha256',
      Buffer.from(`${head}.${body}`),
      createPublicKey({ key, format: 'jwk' }),
      Buffer.from(signature!, 'base64url'),
    ),
  );
  t.is((await call(server, 'GET', '/openid/v1/jwks')).status, 403, 'anonymous');
});
