/**
 * pods/<name>/eviction as upstream serves it to `kubectl drain`: a policy/v1 Eviction naming the
 * pod of the URL, carrying DeleteOptions whose dry run (`kubectl drain --dry-run=server`) deletes
 * nothing, like `?dryRun=All` on the request.
 */
import test from 'ava';
import { call, type HttpReply } from '../server-process.ts';
import { sharedInProcess } from '../in-process.ts';

const shared = sharedInProcess(test);
const pods = '/api/v1/namespaces/default/pods';

function send(method: string, path: string, body?: unknown): Promise<HttpReply> {
  const { server, dataDir, admin } = shared.server();
  return call(
    { dataDir, port: Number(new URL(server.url).port) },
    method,
    path,
    { cert: admin.cert, key: admin.key },
    body,
  );
}

async function createPod(name: string): Promise<void> {
  const reply = await send('POST', pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'app', image: 'busybox:1.36' }] },
  });
  if (reply.status !== 201) throw new Error(`creating pod ${name}: ${reply.status} ${JSON.stringify(reply.body)}`);
}

/** The Eviction kubectl drain posts (policy/v1), with its DeleteOptions. */
const eviction = (name: string, deleteOptions: Record<string, unknown> = {}) => ({
  apiVersion: 'policy/v1',
  kind: 'Eviction',
  metadata: { name, namespace: 'default' },
  deleteOptions,
});

async function stillThere(name: string): Promise<boolean> {
  const reply = await send('GET', `${pods}/${name}`);
  return reply.status === 200 && reply.body.metadata.deletionTimestamp === undefined;
}

test.serial('an eviction whose DeleteOptions ask for a dry run answers Success and deletes nothing', async (t) => {
  await createPod('dry');
  const reply = await send(
    'POST',
    `${pods}/dry/eviction`,
    eviction('dry', { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] }),
  );
  t.is(reply.status, 201, JSON.stringify(reply.body));
  t.like(reply.body, { kind: 'Status', status: 'Success' });
  t.true(await stillThere('dry'), 'the pod is neither deleted nor terminating');
  // the same through the request's own dryRun parameter
  t.is((await send('POST', `${pods}/dry/eviction?dryRun=All`, eviction('dry'))).status, 201);
  t.true(await stillThere('dry'));
  // a dry run that is not All is refused as on a delete (upstream validates the same DeleteOptions)
  const unknown = await send('POST', `${pods}/dry/eviction`, eviction('dry', { dryRun: ['Some'] }));
  t.is(unknown.status, 422, JSON.stringify(unknown.body));
  t.is(
    unknown.body.message,
    'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Some"}: supported values: "All"',
  );
  t.true(await stillThere('dry'));
  // and a real eviction deletes it (no node: at once)
  t.is((await send('POST', `${pods}/dry/eviction`, eviction('dry'))).status, 201);
  t.is((await send('GET', `${pods}/dry`)).status, 404);
});

test.serial('an eviction naming another pod than its URL is refused with 400 and evicts neither', async (t) => {
  await createPod('named');
  await createPod('other');
  const reply = await send('POST', `${pods}/named/eviction`, eviction('other'));
  t.is(reply.status, 400, JSON.stringify(reply.body));
  t.like(reply.body, {
    kind: 'Status',
    reason: 'BadRequest',
    message: 'name in URL does not match name in Eviction object',
  });
  t.true(await stillThere('named'));
  t.true(await stillThere('other'));
  // the server still answers: a matching eviction goes through
  t.is((await send('POST', `${pods}/other/eviction`, eviction('other'))).status, 201);
  t.is((await send('GET', `${pods}/other`)).status, 404);
});
