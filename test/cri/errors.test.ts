import test from 'ava';
import { criErrorFromGrpc, GrpcStatus, CriNotFoundError, CriError } from '../../cri/errors.ts';
import {
  chooseEndpoint,
  checkEndpoint,
  parseCrictlConfig,
  resolveEndpoint,
  defaultEndpoint,
} from '../../cri/endpoint.ts';
import { defaultTimeoutMs, inspectTimeoutMs, runtimeRequestTimeoutMs } from '../../cri/deadlines.ts';
import { checkRuntimeVersion } from '../../cri/version-check.ts';
import { FakeRuntime } from '../../cri/fake.ts';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const where = { method: 'ListContainers', endpoint: 'unix:///run/containerd/containerd.sock', timeoutMs: 2000 };

test('a missing socket says containerd is not reachable and how to check it', (t) => {
  const err = criErrorFromGrpc(
    {
      code: GrpcStatus.UNAVAILABLE,
      details: 'No connection established. Last error: connect ENOENT /run/containerd/containerd.sock',
    },
    where,
  );
  t.is(err.code, 'BOSUN_CRI_UNAVAILABLE');
  t.is(
    err.message,
    'containerd is not reachable at unix:///run/containerd/containerd.sock: is it running? (systemctl status containerd)',
  );
  t.is(err.grpcCode, GrpcStatus.UNAVAILABLE);
  t.is(err.method, 'ListContainers');
});

test('EACCES on the socket is a permission error that says to run as root', (t) => {
  const err = criErrorFromGrpc(
    { code: GrpcStatus.UNAVAILABLE, details: 'connect EACCES /run/containerd/containerd.sock' },
    where,
  );
  t.is(err.code, 'BOSUN_CRI_PERMISSION_DENIED');
  t.regex(err.message, /run bosun as root/);
});

test('each gRPC status maps to its class and stable code', (t) => {
  const cases: [number, CriError['code']][] = [
    [GrpcStatus.NOT_FOUND, 'BOSUN_CRI_NOT_FOUND'],
    [GrpcStatus.DEADLINE_EXCEEDED, 'BOSUN_CRI_DEADLINE_EXCEEDED'],
    [GrpcStatus.PERMISSION_DENIED, 'BOSUN_CRI_PERMISSION_DENIED'],
    [GrpcStatus.UNIMPLEMENTED, 'BOSUN_CRI_UNIMPLEMENTED'],
    [GrpcStatus.ALREADY_EXISTS, 'BOSUN_CRI_ALREADY_EXISTS'],
    [GrpcStatus.INVALID_ARGUMENT, 'BOSUN_CRI_INVALID_ARGUMENT'],
    [GrpcStatus.CANCELLED, 'BOSUN_CRI_CANCELLED'],
    [GrpcStatus.UNKNOWN, 'BOSUN_CRI_RUNTIME'],
    [GrpcStatus.INTERNAL, 'BOSUN_CRI_RUNTIME'],
  ];
  for (const [code, expected] of cases) {
    const err = criErrorFromGrpc({ code, details: 'x' }, where);
    t.is(err.code, expected, `gRPC ${code}`);
    t.true(err instanceof CriError);
    t.false(err.message.includes('\n'));
  }
  t.true(criErrorFromGrpc({ code: GrpcStatus.NOT_FOUND, details: 'x' }, where) instanceof CriNotFoundError);
  t.is(
    criErrorFromGrpc({ code: GrpcStatus.DEADLINE_EXCEEDED, details: 'Deadline exceeded' }, where).message,
    'containerd at unix:///run/containerd/containerd.sock did not answer ListContainers within 2s',
  );
});

test('endpoint precedence: flag, then env, then config file, then the default', (t) => {
  const configText = 'runtime-endpoint: unix:///from/config.sock\ntimeout: 5\n';
  t.deepEqual(chooseEndpoint({ flag: '/from/flag.sock', env: 'unix:///from/env.sock', configText }), {
    endpoint: 'unix:///from/flag.sock',
    source: 'flag',
    timeoutMs: 5000,
  });
  t.is(chooseEndpoint({ env: 'unix:///from/env.sock', configText }).source, 'env');
  t.is(chooseEndpoint({ configText }).endpoint, 'unix:///from/config.sock');
  t.deepEqual(chooseEndpoint({}), { endpoint: defaultEndpoint, source: 'default' });
});

test('crictl config files parse with quotes, comments and unknown keys', (t) => {
  t.deepEqual(
    parseCrictlConfig(
      '# written by hand\nruntime-endpoint: "unix:///a.sock"\nimage-endpoint: unix:///b.sock # same host\ntimeout: 10\ndebug: true\npull-image-on-create: false\n',
    ),
    { runtimeEndpoint: 'unix:///a.sock', imageEndpoint: 'unix:///b.sock', timeoutSec: 10, debug: true },
  );
});

test('endpoint forms: unix URLs, bare paths and tcp; others are refused with the forms that work', (t) => {
  t.is(checkEndpoint('unix:///run/x.sock'), 'unix:///run/x.sock');
  t.is(checkEndpoint('unix:/run/x.sock'), 'unix:///run/x.sock');
  t.is(checkEndpoint('/run/x.sock'), 'unix:///run/x.sock');
  t.is(checkEndpoint('tcp://127.0.0.1:1234'), '127.0.0.1:1234');
  const err = t.throws(() => checkEndpoint('npipe:////./pipe/x'));
  t.is((err as CriError).code, 'BOSUN_CRI_BAD_ENDPOINT');
  t.regex(err!.message, /unix:\/\/\/path\/to\/socket/);
});

test('resolveEndpoint reads the config file named by CRI_CONFIG_FILE and refuses a missing one', (t) => {
  const dir = mkdtempSync(join(tmpdir(), `bosun-cri-endpoint-${process.pid}-`));
  try {
    const file = join(dir, 'crictl.yaml');
    writeFileSync(file, 'runtime-endpoint: unix:///x/containerd.sock\n');
    t.is(resolveEndpoint({}, { CRI_CONFIG_FILE: file }).endpoint, 'unix:///x/containerd.sock');
    t.is(
      resolveEndpoint({}, { CRI_CONFIG_FILE: file, CONTAINER_RUNTIME_ENDPOINT: '/y.sock' }).endpoint,
      'unix:///y.sock',
    );
    const err = t.throws(() => resolveEndpoint({ configFile: join(dir, 'missing.yaml') }, {}));
    t.is((err as CriError).code, 'BOSUN_CRI_BAD_ENDPOINT');
    // An absent file that nobody named is normal: the default endpoint applies.
    t.deepEqual(resolveEndpoint({}, {}, join(dir, 'absent.yaml')), { endpoint: defaultEndpoint, source: 'default' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('deadlines: short for inspection, 2 min for changes, plus the runtime-side timeout for stop and exec', (t) => {
  t.is(defaultTimeoutMs('ListContainers'), inspectTimeoutMs);
  t.is(defaultTimeoutMs('Version'), inspectTimeoutMs);
  t.is(defaultTimeoutMs('PullImage'), runtimeRequestTimeoutMs);
  t.is(defaultTimeoutMs('CreateContainer'), runtimeRequestTimeoutMs);
  t.is(defaultTimeoutMs('StopContainer', 30), 30_000 + runtimeRequestTimeoutMs);
  t.is(defaultTimeoutMs('ExecSync', 5), 5_000 + runtimeRequestTimeoutMs);
  t.is(defaultTimeoutMs('ExecSync', 0), undefined);
  t.is(defaultTimeoutMs('GetContainerEvents'), undefined);
  t.true(inspectTimeoutMs < runtimeRequestTimeoutMs);
});

test('version check accepts v1 and explains anything else', async (t) => {
  const fake = new FakeRuntime();
  t.is((await checkRuntimeVersion(fake)).runtimeApiVersion, 'v1');
  const old = {
    endpoint: 'unix:///run/containerd/containerd.sock',
    version: async () => ({
      version: '0.1.0',
      runtimeName: 'containerd',
      runtimeVersion: 'v1.4.0',
      runtimeApiVersion: 'v1alpha2',
    }),
  };
  const err = await t.throwsAsync(checkRuntimeVersion(old));
  t.is((err as CriError).code, 'BOSUN_CRI_UNSUPPORTED_VERSION');
  t.regex(err!.message, /speaks CRI v1alpha2, bosun needs v1/);
  const none = {
    endpoint: 'unix:///x.sock',
    version: async () => {
      throw criErrorFromGrpc({ code: GrpcStatus.UNIMPLEMENTED }, { method: 'Version', endpoint: 'unix:///x.sock' });
    },
  };
  t.is(((await t.throwsAsync(checkRuntimeVersion(none))) as CriError).code, 'BOSUN_CRI_UNSUPPORTED_VERSION');
});
