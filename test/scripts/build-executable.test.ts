/**
 * The single executable that install.sh puts in /usr/local/bin, built from this tree: it runs with
 * no Node tree, no node_modules and an empty environment, carries the files the sources read beside
 * them (the CRI and Kubernetes schemas, the field schemas, etcd's protocol), and serves the API on
 * sqlite and on a real etcd, refusing bad objects in upstream's words.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../helpers/run.ts';
import { loadedModules, workingBuiltinsIn } from '../helpers/loaded-modules.ts';
import { kubectl, kubectlOk } from '../bed/kubectl.ts';
import { startServerProcess } from '../controlplane/server-process.ts';
import { startEtcd } from '../controlplane/etcd-process.ts';

const repo = resolve(import.meta.dirname, '../..');
const folder = mkdtempSync(join(tmpdir(), 'bosun-executable-'));
const executable = join(folder, 'bosun');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;

test.before(async () => {
  const built = await run([process.execPath, join(repo, 'scripts', 'build-executable.ts'), '--out', executable], {
    timeoutMs: 180_000,
  });
  if (built.code !== 0) throw new Error(`the build failed: ${built.stdout}\n${built.stderr}`);
});

test.after.always(() => rmSync(folder, { recursive: true, force: true }));

test('one ELF file that runs from anywhere with an empty environment', async (t) => {
  t.is(readFileSync(executable).subarray(0, 4).toString('latin1'), '\x7fELF');
  t.true((statSync(executable).mode & 0o111) !== 0);
  const shown = await run(['env', '-i', '--chdir=/', executable, '--version']);
  t.is(shown.code, 0, shown.stderr);
  t.is(shown.stdout.trim(), `bosun ${version} (node ${process.version}, linux/x64)`);
  // no warning from Node about the executable itself, and a clear line for a wrong word
  t.is(shown.stderr, '');
  const wrong = await run(['env', '-i', '--chdir=/', executable, 'nonsense']);
  t.is(wrong.code, 2);
  t.regex(wrong.stderr, /^bosun: unknown command 'nonsense'/);
});

test('--version and cri --help from the executable load no network, process or compression module', async (t) => {
  const version = await loadedModules([executable, '--version']);
  t.is(version.result.code, 0, version.result.stderr);
  t.regex(version.result.stdout, /^bosun /);
  t.deepEqual(workingBuiltinsIn(version), []);
  const help = await loadedModules([executable, 'cri', '--help']);
  t.is(help.result.code, 0, help.result.stderr);
  t.regex(help.result.stdout, /bosun cri ps/);
  t.deepEqual(workingBuiltinsIn(help), []);
});

test('cri ps from the executable names an unreachable runtime, over http2 and over grpc-js', async (t) => {
  // a unix socket goes over http2 in the start part; a TCP endpoint loads grpc-js from the rest
  const unix = await run(['env', '-i', executable, 'cri', '-r', 'unix:///nonexistent/containerd.sock', 'ps']);
  t.is(unix.code, 1);
  t.is(
    unix.stderr,
    'bosun: containerd is not reachable at unix:///nonexistent/containerd.sock: is it running? (systemctl status containerd)\n',
  );
  const tcp = await run(['env', '-i', executable, 'cri', '-r', 'tcp://127.0.0.1:1', 'ps', '--request-timeout', '2']);
  t.is(tcp.code, 1);
  t.regex(tcp.stderr, /^bosun: containerd is not reachable at .*127\.0\.0\.1:1/);
});

/**
 * The functions a run of the executable called, by name: esbuild names each bundled module's
 * initialiser after the module's path, so a package that was never initialised has no name here.
 * Read from V8's precise coverage, started by a preload before the bundle runs.
 */
async function functionsRun(argv: readonly string[]) {
  const scratch = mkdtempSync(join(tmpdir(), 'bosun-functions-run-'));
  try {
    const log = join(scratch, 'ran.json');
    const preload = join(scratch, 'coverage.cjs');
    writeFileSync(
      preload,
      `const { Session } = require('node:inspector');
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
process.on('exit', () => {
  session.post('Profiler.takePreciseCoverage', (err, coverage) => {
    const ran = new Set();
    for (const script of err ? [] : coverage.result)
      for (const fn of script.functions) if (fn.functionName !== '' && fn.ranges[0].count > 0) ran.add(fn.functionName);
    require('node:fs').writeFileSync(${JSON.stringify(log)}, JSON.stringify([...ran]));
  });
});
`,
    );
    const result = await run(argv, { env: { NODE_OPTIONS: `--require=${preload}` } });
    return { result, ran: JSON.parse(readFileSync(log, 'utf8')) as string[] };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const yargsModules = (ran: readonly string[]) => ran.filter((name) => /node_modules\/yargs(-parser)?\//.test(name));

test('the agent from the executable, started with plain flags, never initialises yargs; a typo still gets its words', async (t) => {
  const plain = await functionsRun([executable, 'agent', '--kubeconfig', '/nonexistent/k', '--node-ip', 'no-ip']);
  t.is(plain.result.code, 2, plain.result.stderr);
  t.is(plain.result.stderr, 'bosun: --node-ip no-ip is not an IPv4 address\n');
  t.true(plain.ran.includes('cli/agent-run.ts'));
  t.deepEqual(yargsModules(plain.ran), []);
  const typo = await functionsRun([executable, 'agent', '--node-naem', 'x']);
  t.is(typo.result.code, 2);
  t.is(typo.result.stderr, 'bosun agent: unknown flag --node-naem (did you mean --node-name?)\n');
  t.not(yargsModules(typo.ran), []);
});

for (const datastore of ['sqlite', 'etcd'] as const) {
  test(`bosun server from the executable on ${datastore}: objects stored, a bad one refused as upstream refuses it`, async (t) => {
    const etcd = datastore === 'etcd' ? await startEtcd() : undefined;
    const server = await startServerProcess({ datastore, executable, ...(etcd ? { etcd } : {}) });
    t.teardown(async () => {
      await server.destroy();
      await etcd?.destroy();
    });
    const call = { kubeconfig: server.kubeconfig };
    await kubectlOk(call, ['create', 'configmap', 'kept', '--from-literal=a=b']);
    t.is(await kubectlOk(call, ['get', 'configmap', 'kept', '-o', 'jsonpath={.data.a}']), 'b');
    const refused = await kubectl(call, ['create', 'namespace', 'Bad_Name']);
    t.is(refused.code, 1);
    t.regex(
      refused.stderr,
      /The Namespace "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label/,
    );
    t.is((await kubectl(call, ['get', 'namespace', 'Bad_Name'])).code, 1);
    // strict field validation reads the field schema the executable carries
    const unknown = await kubectl(
      { ...call, input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\nsurprise: 1\n' },
      ['create', '--validate=strict', '-f', '-'],
    );
    t.is(unknown.code, 1);
    t.regex(unknown.stderr, /unknown field "surprise"/);
    t.is((await kubectl(call, ['get', 'configmap', 'extra'])).code, 1);
  });
}
