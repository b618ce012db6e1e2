/** `bosun cri` subcommands against the fake runtime: what they print and when they refuse. */
import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { FakeRuntime } from '../../cri/fake.ts';
import type { CriContext } from '../../cri/commands/context.ts';
import { ps, pods, images } from '../../cri/commands/list.ts';
import { inspect, inspecti, version } from '../../cri/commands/inspect.ts';
import { rm, rmp, runp, create, start, stop, stopp } from '../../cri/commands/lifecycle.ts';
import { exec } from '../../cri/commands/exec.ts';
import { pull, rmi } from '../../cri/commands/images.ts';
import type { CommandError } from '../../cri/commands/command-error.ts';
import type { CriError } from '../../cri/errors.ts';

const busybox = 'localhost/bosun/busybox:1.35';
const start0 = Date.UTC(2026, 10, 22, 1, 0, 0);

function setup() {
  let now = start0;
  const runtime = new FakeRuntime({ images: [busybox, 'localhost/bosun/pause:3.10'], now: () => now });
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CriContext = {
    runtime,
    out: { write: (s) => out.push(typeof s === 'string' ? s : Buffer.from(s).toString()) },
    err: { write: (s) => err.push(typeof s === 'string' ? s : Buffer.from(s).toString()) },
    now: () => now,
  };
  return {
    runtime,
    ctx,
    out: () => out.join(''),
    err: () => err.join(''),
    clear: () => (out.length = 0),
    advance: (ms: number) => (now += ms),
  };
}

const listDefaults = {
  output: 'table' as const,
  quiet: false,
  'no-trunc': false,
  label: [] as string[],
  latest: false,
  last: 0,
};
const psDefaults = { ...listDefaults, all: false };

async function scene() {
  const s = setup();
  const podConfig = (name: string) => ({
    metadata: { name, namespace: name === 'web' ? 'shop' : 'ops', uid: `uid-${name}` },
    logDirectory: `/logs/${name}`,
  });
  const web = await s.runtime.runPodSandbox(podConfig('web'));
  const mon = await s.runtime.runPodSandbox(podConfig('mon'));
  const nginx = await s.runtime.createContainer(
    web,
    { metadata: { name: 'nginx' }, image: { image: busybox } },
    podConfig('web'),
  );
  await s.runtime.startContainer(nginx);
  s.advance(60_000);
  const exporter = await s.runtime.createContainer(
    mon,
    { metadata: { name: 'exporter', attempt: 2 }, image: { image: busybox } },
    podConfig('mon'),
  );
  await s.runtime.startContainer(exporter);
  const done = await s.runtime.createContainer(
    mon,
    { metadata: { name: 'init' }, image: { image: busybox } },
    podConfig('mon'),
  );
  await s.runtime.startContainer(done);
  s.runtime.exitContainer(done, 0);
  s.advance(17_000);
  return { ...s, web, mon, nginx, exporter, done };
}

test('ps: running containers, newest first, crictl columns with pod name and namespace from the sandbox', async (t) => {
  const s = await scene();
  await ps(s.ctx, psDefaults);
  const lines = s.out().trimEnd().split('\n');
  t.deepEqual(lines[0]!.split(/\s{2,}/), [
    'CONTAINER',
    'IMAGE',
    'CREATED',
    'STATE',
    'NAME',
    'ATTEMPT',
    'POD ID',
    'POD',
    'NAMESPACE',
  ]);
  t.deepEqual(lines[1]!.split(/\s{2,}/), [
    s.exporter.slice(0, 13),
    busybox,
    '17 seconds ago',
    'Running',
    'exporter',
    '2',
    s.mon.slice(0, 13),
    'mon',
    'ops',
  ]);
  t.deepEqual(lines[2]!.split(/\s{2,}/), [
    s.nginx.slice(0, 13),
    busybox,
    'About a minute ago',
    'Running',
    'nginx',
    '0',
    s.web.slice(0, 13),
    'web',
    'shop',
  ]);
  t.is(lines.length, 3);
});

test('ps -a shows exited ones; --name is honoured with -o json; -q prints full IDs', async (t) => {
  const s = await scene();
  await ps(s.ctx, { ...psDefaults, all: true, quiet: true });
  t.deepEqual(s.out().trim().split('\n').sort(), [s.nginx, s.exporter, s.done].sort());
  s.clear();
  await ps(s.ctx, { ...psDefaults, all: true, output: 'json', name: '^(init|nginx)$' });
  const json = JSON.parse(s.out()) as { containers: { id: string }[] };
  t.deepEqual(json.containers.map((c) => c.id).sort(), [s.nginx, s.done].sort());
  s.clear();
  await ps(s.ctx, { ...psDefaults, output: 'yaml', namespace: 'shop' });
  t.regex(s.out(), new RegExp(`id: ${s.nginx}`));
  t.notRegex(s.out(), new RegExp(s.exporter));
});

test('ps --pod takes a prefix; an ambiguous one lists the candidates', async (t) => {
  const s = await scene();
  await ps(s.ctx, { ...psDefaults, quiet: true, pod: s.web.slice(0, 6) });
  t.is(s.out(), `${s.nginx}\n`);
  // 17 pods: two of them must share a first hex digit.
  const byFirstDigit = new Map<string, string[]>();
  for (const [id] of [[s.web], [s.mon]]) byFirstDigit.set(id![0]!, [...(byFirstDigit.get(id![0]!) ?? []), id!]);
  for (let i = 0; i < 15; i += 1) {
    const id = await s.runtime.runPodSandbox({ metadata: { name: `extra-${i}`, namespace: 'x', uid: `u-${i}` } });
    byFirstDigit.set(id[0]!, [...(byFirstDigit.get(id[0]!) ?? []), id]);
  }
  const [digit, shared] = [...byFirstDigit].find(([, list]) => list.length > 1)!;
  const err = await t.throwsAsync(ps(s.ctx, { ...psDefaults, pod: digit }));
  t.is((err as CriError).code, 'BOSUN_CRI_AMBIGUOUS_ID');
  for (const id of shared) t.true(err!.message.includes(id.slice(0, 13)), `candidate ${id.slice(0, 13)} listed`);
});

test('ps refuses a bad --state and a bad regular expression as usage errors', async (t) => {
  const s = await scene();
  t.is(((await t.throwsAsync(ps(s.ctx, { ...psDefaults, state: 'sleeping' }))) as CommandError).exitCode, 2);
  t.is(((await t.throwsAsync(ps(s.ctx, { ...psDefaults, name: '(' }))) as CommandError).exitCode, 2);
  t.is(((await t.throwsAsync(ps(s.ctx, { ...psDefaults, label: ['novalue'] }))) as CommandError).exitCode, 2);
});

test('pods: crictl columns, state filter, runtime handler shown as (default)', async (t) => {
  const s = await scene();
  await s.runtime.stopPodSandbox(s.mon);
  await pods(s.ctx, listDefaults);
  const lines = s
    .out()
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/\s{2,}/));
  t.deepEqual(lines[0], ['POD ID', 'CREATED', 'STATE', 'NAME', 'NAMESPACE', 'ATTEMPT', 'RUNTIME']);
  t.deepEqual(
    lines
      .slice(1)
      .map((l) => [l[2], l[3], l[6]])
      .sort(),
    [
      ['NotReady', 'mon', '(default)'],
      ['Ready', 'web', '(default)'],
    ],
  );
  s.clear();
  await pods(s.ctx, { ...listDefaults, state: 'notready', quiet: true });
  t.is(s.out(), `${s.mon}\n`);
});

test('images: one row per tag with truncated ID and size', async (t) => {
  const s = setup();
  const id = s.runtime.addImage('localhost/x:1', 2127492);
  await images(s.ctx, { output: 'table', quiet: false, 'no-trunc': false, digests: false, ref: 'localhost/x' });
  t.deepEqual(
    s
      .out()
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/)),
    [
      ['IMAGE', 'TAG', 'IMAGE ID', 'SIZE'],
      ['localhost/x', '1', id.slice(7, 20), '2.13MB'],
    ],
  );
});

test('inspect prints status and the verbose info as data', async (t) => {
  const s = await scene();
  await inspect(s.ctx, { ids: [s.nginx.slice(0, 8)], output: 'json' });
  const doc = JSON.parse(s.out()) as { status: { id: string; state: string }; info: { sandboxID: string } };
  t.is(doc.status.id, s.nginx);
  t.is(doc.status.state, 'CONTAINER_RUNNING');
  t.is(doc.info.sandboxID, s.web);
  s.clear();
  await inspecti(s.ctx, { ids: [busybox], output: 'json' });
  t.deepEqual((JSON.parse(s.out()) as { status: { repoTags: string[] } }).status.repoTags, [busybox]);
  await t.throwsAsync(inspecti(s.ctx, { ids: ['localhost/none:1'], output: 'json' }), {
    message: 'no image "localhost/none:1"',
  });
});

test('rm refuses a running container without --force; rmp refuses a ready pod without --force', async (t) => {
  const s = await scene();
  const refused = await t.throwsAsync(rm(s.ctx, { ids: [s.nginx], force: false, all: false }));
  t.is((refused as CommandError).exitCode, 1);
  t.regex(refused!.message, /is running: stop it first, or use --force/);
  await rm(s.ctx, { ids: [s.nginx], force: true, all: false });
  t.is(s.out(), `${s.nginx}\n`);
  t.deepEqual(s.runtime.callsOf('stopContainer'), [[s.nginx, 0]]);
  await t.throwsAsync(rmp(s.ctx, { ids: [s.web], force: false, all: false }), { message: /is ready: stop it first/ });
  await stopp(s.ctx, { ids: [s.web] });
  await rmp(s.ctx, { ids: [s.web], force: false, all: false });
  t.deepEqual(
    (await s.runtime.listPodSandbox()).map((p) => p.id),
    [s.mon],
  );
});

test('rm --all removes stopped containers only; stop passes the timeout', async (t) => {
  const s = await scene();
  await rm(s.ctx, { ids: [], force: false, all: true });
  t.is(s.out(), `${s.done}\n`);
  await stop(s.ctx, { ids: [s.exporter.slice(0, 10)], timeout: 7 });
  t.deepEqual(s.runtime.callsOf('stopContainer'), [[s.exporter, 7]]);
});

test('runp, create (pulling a missing image) and start from config files', async (t) => {
  const s = setup();
  const dir = mkdtempSync(join(tmpdir(), `bosun-cri-cli-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'pod.json'),
    JSON.stringify({ metadata: { name: 'p', namespace: 'default', uid: 'u1' }, log_directory: '/logs/p' }),
  );
  writeFileSync(join(dir, 'c.yaml'), 'metadata:\n  name: c\nimage:\n  image: localhost/new:1\nlog_path: c.log\n');
  await runp(s.ctx, { config: join(dir, 'pod.json') });
  const pod = s.out().trim();
  s.clear();
  await create(s.ctx, {
    pod: pod.slice(0, 5),
    'container-config': join(dir, 'c.yaml'),
    'pod-config': join(dir, 'pod.json'),
    'no-pull': false,
  });
  const id = s.out().trim();
  t.deepEqual(
    s.runtime.callsOf('pullImage').map((args) => args[0]),
    ['localhost/new:1'],
  );
  await start(s.ctx, { ids: [id] });
  const status = (await s.runtime.containerStatus(id)).status!;
  t.deepEqual([status.state, status.logPath], ['CONTAINER_RUNNING', '/logs/p/c.log']);
  const missing = await t.throwsAsync(runp(s.ctx, { config: join(dir, 'nope.json') }));
  t.is((missing as CommandError).exitCode, 2);
});

test('exec --sync prints the output and returns the exit code', async (t) => {
  const s = await scene();
  s.runtime.onExecSync = (_id, cmd) => ({
    stdout: Buffer.from(`ran ${cmd.join(' ')}\n`),
    stderr: Buffer.from('warn\n'),
    exitCode: 3,
  });
  const terminal = { stdin: process.stdin, stdout: process.stdout };
  const code = await exec(
    s.ctx,
    { container: s.nginx, cmd: ['ls', '-l'], interactive: false, tty: false, sync: true, 'exec-timeout': 5 },
    terminal,
  );
  t.is(code, 3);
  t.is(s.out(), 'ran ls -l\n');
  t.is(s.err(), 'warn\n');
  t.deepEqual(s.runtime.callsOf('execSync'), [[s.nginx, ['ls', '-l'], 5]]);
  t.is(
    (
      (await t.throwsAsync(
        exec(
          s.ctx,
          { container: s.nginx, cmd: [], interactive: false, tty: false, sync: true, 'exec-timeout': 0 },
          terminal,
        ),
      )) as CommandError
    ).exitCode,
    2,
  );
});

test('rmi --prune keeps images in use; rmi by reference prints what it deleted', async (t) => {
  const s = await scene();
  s.runtime.addImage('localhost/unused:1');
  await rmi(s.ctx, { images: [], all: false, prune: true });
  t.is(s.out(), 'Deleted: localhost/bosun/pause:3.10\nDeleted: localhost/unused:1\n');
  s.clear();
  await rmi(s.ctx, { images: [busybox], all: false, prune: false });
  t.is(s.out(), `Deleted: ${busybox}\n`);
});

test("version prints crictl's four lines", async (t) => {
  const s = setup();
  await version(s.ctx, { output: 'table' });
  t.is(s.out(), 'Version:  0.1.0\nRuntimeName:  fake\nRuntimeVersion:  0.0.0\nRuntimeApiVersion:  v1\n');
});

test('pull shows progress from the ingest folder: a redrawn bar on a terminal, plain lines otherwise', async (t) => {
  const root = mkdtempSync(join(tmpdir(), `bosun-cri-pull-${process.pid}-`));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const ingest = join(root, 'io.containerd.content.v1.content', 'ingest', 'layer-1');
  // A runtime whose pull leaves a half-done download where containerd would, and finishes only
  // once the progress of it was shown (or after 10 s): a busy machine must not make it flaky.
  const slowPull = (shown: () => string) =>
    new (class extends FakeRuntime {
      override async status(verbose?: boolean) {
        const status = await super.status(verbose);
        return { ...status, info: { config: JSON.stringify({ containerdRootDir: root }) } };
      }
      override async pullImage(ref: string) {
        mkdirSync(ingest, { recursive: true });
        writeFileSync(join(ingest, 'data'), Buffer.alloc(1500));
        writeFileSync(join(ingest, 'total'), '3000');
        const deadline = Date.now() + 10_000;
        while (!shown().includes('1.5kB / 3kB') && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 20));
        rmSync(ingest, { recursive: true });
        return super.pullImage(ref);
      }
    })();
  for (const isTTY of [true, false]) {
    const s = setup();
    const ctx = { ...s.ctx, runtime: slowPull(() => s.err()) };
    await pull(ctx, { image: 'localhost/x:1' }, { isTTY, intervalMs: 40 });
    t.regex(s.out(), /^Image is up to date for sha256:[0-9a-f]{64}\n$/);
    const progress = s.err();
    t.regex(progress, /localhost\/x:1: \[#{15}-{15}\] 1\.5kB \/ 3kB {2}1 layer/, isTTY ? 'terminal' : 'plain');
    if (isTTY) {
      t.true(progress.startsWith('\r'), 'redrawn in place');
      t.regex(progress, /\r +\r$/, 'the bar is cleared at the end');
    } else {
      t.false(progress.includes('\r'));
      t.true(
        progress
          .split('\n')
          .filter((line) => line !== '')
          .every((line) => line.startsWith('localhost/x:1: ')),
      );
    }
  }
});

test('an Unimplemented answer from a runtime that speaks an older CRI is explained by its version', async (t) => {
  const { explainFailure } = await import('../../cri/commands/context.ts');
  const { CriUnimplementedError } = await import('../../cri/errors.ts');
  const unimplemented = new CriUnimplementedError('containerd at unix:///x.sock does not implement ListContainers');
  const old = {
    endpoint: 'unix:///x.sock',
    version: async () => ({
      version: '0.1.0',
      runtimeName: 'containerd',
      runtimeVersion: 'v1.5.9',
      runtimeApiVersion: 'v1alpha2',
    }),
  };
  t.regex(
    ((await explainFailure(unimplemented, old)) as Error).message,
    /containerd v1\.5\.9 at unix:\/\/\/x\.sock speaks CRI v1alpha2, bosun needs v1/,
  );
  // A v1 runtime that lacks one method keeps the original error.
  t.is(await explainFailure(unimplemented, new FakeRuntime()), unimplemented);
});
