/**
 * Query parameters read as upstream reads them, for clients that spell them differently from
 * kubectl: every accepted spelling of a boolean, Go's integer syntax with strconv's own error
 * words, the first of a repeated parameter, unknown parameters ignored; the option rules of
 * watches, lists and writes as 422 in upstream's words. A pure table, then the same over HTTPS.
 */
import test from 'ava';
import { ApiError } from '../../../kube/errors.ts';
import { refs } from '../../../kube/resource-ref.ts';
import { booleanParam, integerParam, parseGoInt64 } from '../../../controlplane/api/query-params.ts';
import { planWatch } from '../../../controlplane/api/watch-options.ts';
import { checkWriteOptions } from '../../../controlplane/api/write-options.ts';
import { sharedInProcess } from '../in-process.ts';
import { call, type Identity } from '../server-process.ts';

const q = (text: string) => new URLSearchParams(text);

const trueSpellings = ['1', 't', 'T', 'TRUE', 'true', 'True', 'yes', 'on', ''];
const falseSpellings = ['0', 'f', 'F', 'FALSE', 'false', 'False', 'fAlSe'];

test('booleans: only absent, 0 and false (any case) are false; the first of several counts', (t) => {
  for (const spelling of trueSpellings) t.true(booleanParam(q(`watch=${spelling}`), 'watch'), `watch=${spelling}`);
  // upstream reads only "0" and "false" as false: f and F are true there, as any other word
  for (const spelling of falseSpellings)
    t.is(booleanParam(q(`watch=${spelling}`), 'watch'), spelling === 'f' || spelling === 'F', `watch=${spelling}`);
  t.true(booleanParam(q('watch'), 'watch'), 'a bare parameter');
  t.is(booleanParam(q('other=1'), 'watch'), undefined);
  t.false(booleanParam(q('watch=false&watch=true'), 'watch'));
  t.true(booleanParam(q('watch=true&watch=false'), 'watch'));
});

test("integers: Go ParseInt syntax and range; strconv's words for anything else", (t) => {
  const accepted: [string, number][] = [
    ['10', 10],
    ['+10', 10],
    ['-3', -3],
    ['007', 7],
    ['0', 0],
    ['9007199254740991', 9007199254740991],
  ];
  for (const [text, value] of accepted) t.is(parseGoInt64(text), value, text);
  const refused: [string, string][] = [
    ['abc', 'strconv.ParseInt: parsing "abc": invalid syntax'],
    ['1.5', 'strconv.ParseInt: parsing "1.5": invalid syntax'],
    ['', 'strconv.ParseInt: parsing "": invalid syntax'],
    [' 1', 'strconv.ParseInt: parsing " 1": invalid syntax'],
    ['1e3', 'strconv.ParseInt: parsing "1e3": invalid syntax'],
    ['0x10', 'strconv.ParseInt: parsing "0x10": invalid syntax'],
    ['1_000', 'strconv.ParseInt: parsing "1_000": invalid syntax'],
    ['9223372036854775808', 'strconv.ParseInt: parsing "9223372036854775808": value out of range'],
  ];
  for (const [text, message] of refused) {
    const err = t.throws(() => parseGoInt64(text), { instanceOf: ApiError }, text);
    t.is(err.code, 400);
    t.is(err.message, message);
  }
  t.is(integerParam(q('limit=5&limit=abc'), 'limit'), 5, 'the first of several');
});

test('watch plans: legacy starts, streaming lists, sendInitialEvents=false, timeouts', (t) => {
  t.like(planWatch(q('')), { initialEvents: true, endBookmark: false, bookmarks: false });
  t.like(planWatch(q('resourceVersion=0&allowWatchBookmarks=True')), {
    initialEvents: true,
    endBookmark: false,
    bookmarks: true,
  });
  t.like(planWatch(q('resourceVersion=12')), { initialEvents: false, after: 12 });
  t.like(planWatch(q('sendInitialEvents=1&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=1')), {
    initialEvents: true,
    endBookmark: true,
    bookmarks: true,
  });
  t.is(
    planWatch(q('sendInitialEvents=true&resourceVersionMatch=NotOlderThan')).notOlderThan,
    undefined,
    'unset: the newest state',
  );
  t.is(
    planWatch(q('sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=0')).notOlderThan,
    0,
    '"0": any state',
  );
  t.is(planWatch(q('sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=7')).notOlderThan, 7);
  t.like(planWatch(q('sendInitialEvents=false&resourceVersionMatch=NotOlderThan')), {
    initialEvents: false,
    after: undefined,
  });
  t.like(planWatch(q('sendInitialEvents=0&resourceVersionMatch=NotOlderThan&resourceVersion=9')), {
    initialEvents: false,
    after: 9,
  });
  t.is(planWatch(q('timeoutSeconds=30')).timeoutSeconds, 30);
  t.is(planWatch(q('timeoutSeconds=0')).timeoutSeconds, undefined, '0 leaves the timeout to the server, as upstream');
  t.is(
    t.throws(() => planWatch(q('timeoutSeconds=soon')))!.message,
    'strconv.ParseInt: parsing "soon": invalid syntax',
  );
});

test('write options: dryRun, fieldValidation, fieldManager and force as upstream validates them', (t) => {
  const ok: [string, string, string?][] = [
    ['create', 'dryRun=All&fieldValidation=Strict&fieldManager=kubectl-create'],
    ['update', 'fieldValidation=Ignore&pretty=true&unknownThing=1'],
    ['patch', 'force=true&fieldManager=kubectl', 'apply'],
    ['delete', 'dryRun=All&fieldValidation=whatever'],
    ['get', 'dryRun=Some'],
  ];
  for (const [verb, query, patchType] of ok)
    t.notThrows(() => checkWriteOptions(verb, q(query), patchType), `${verb} ?${query}`);
  const refused: [string, string, string | undefined, string][] = [
    [
      'create',
      'dryRun=Some',
      undefined,
      'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Some"}: supported values: "All"',
    ],
    [
      'delete',
      'dryRun=All&dryRun=x',
      undefined,
      'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"All", "x"}: supported values: "All"',
    ],
    [
      'update',
      'fieldValidation=strict',
      undefined,
      'UpdateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn"',
    ],
    [
      'patch',
      'force=true',
      'merge',
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    ],
    [
      'patch',
      '',
      'apply',
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    ],
    [
      'create',
      `fieldManager=${'m'.repeat(129)}`,
      undefined,
      'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes',
    ],
    [
      'create',
      'fieldManager=a%09b',
      undefined,
      'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\tb": invalid character U+0009 (at position 1)',
    ],
  ];
  for (const [verb, query, patchType, message] of refused) {
    const err = t.throws(
      () => checkWriteOptions(verb, q(query), patchType),
      { instanceOf: ApiError },
      `${verb} ?${query}`,
    );
    t.is(err.code, 422);
    t.is(err.message, message);
  }
});

const shared = sharedInProcess(test);

test('over HTTPS: every spelling reaches the same answer, bad integers are 400, bad options 422 and change nothing', async (t) => {
  const { server: running, dataDir, admin } = shared.server();
  const identity: Identity = { cert: admin.cert!, key: admin.key! };
  const http = (method: string, path: string, body?: unknown, type?: string) =>
    call({ dataDir, port: running.port }, method, path, identity, body, type);
  await shared.client().create(refs.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kept', namespace: 'default' },
    data: { k: 'v' },
  });
  const base = '/api/v1/namespaces/default/configmaps';

  // a watch however "true" is spelled (Python clients send True), ending at its timeout
  for (const spelling of ['True', 'TRUE', 't', '1', 'yes']) {
    const reply = await http('GET', `${base}?watch=${spelling}&timeoutSeconds=1&fieldSelector=metadata.name%3Dkept`);
    t.is(reply.status, 200, `watch=${spelling}`);
    t.regex(String(JSON.stringify(reply.body)), /"type":"ADDED"/, `watch=${spelling} streamed events`);
  }
  for (const spelling of ['False', 'FALSE', '0']) {
    const reply = await http('GET', `${base}?watch=${spelling}`);
    t.is((reply.body as { kind?: string }).kind, 'ConfigMapList', `watch=${spelling} is a list`);
  }
  const badLimit = await http('GET', `${base}?limit=ten`);
  t.is(badLimit.status, 400);
  t.like(badLimit.body as object, { reason: 'BadRequest', message: 'strconv.ParseInt: parsing "ten": invalid syntax' });
  t.is((await http('GET', `${base}?limit=-1`)).status, 200, 'a negative limit is no limit');

  const dry = await http('DELETE', `${base}/kept?dryRun=Some`);
  t.is(dry.status, 422);
  t.like(dry.body as object, {
    reason: 'Invalid',
    message:
      'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Some"}: supported values: "All"',
  });
  const forced = await http(
    'PATCH',
    `${base}/kept?force=true`,
    { data: { k: 'changed' } },
    'application/merge-patch+json',
  );
  t.is(forced.status, 422);
  t.is(
    (await http('GET', `${base}/kept`)).status === 200 &&
      ((await http('GET', `${base}/kept`)).body as { data: { k: string } }).data.k,
    'v',
    'nothing deleted or changed',
  );

  // a dry-run delete spelled dryRun=All with a negative grace period and orphanDependents=1
  t.is((await http('DELETE', `${base}/kept?dryRun=All&gracePeriodSeconds=-1&orphanDependents=1`)).status, 200);
  t.is((await http('GET', `${base}/kept`)).status, 200);
});
