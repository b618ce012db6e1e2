/**
 * `bosun cri` and the CRI client against the real containerd of a test-bed node. Every command's
 * output is checked against what containerd itself reports through `ctr -n k8s.io`, or against
 * what the containers visibly do. One bed, one pod scene, steps in order.
 */
import test from 'ava';
import {
  mkdtempSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
  readFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createBed, bedImages, type Bed, type BedNode } from '../bed/index.ts';
import { CriClient } from '../../cri/client.ts';
import { watchContainerEvents } from '../../cri/events.ts';

const bosunBin = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
const cgroupParent = `/bosun-cri-test-${process.pid}`;

let bed: Bed | undefined;
let node: BedNode;
let cri: CriClient;
let dir: string;
const ids: Record<string, string> = {};
const id = (name: string): string => {
  const value = ids[name];
  if (value === undefined) throw new Error(`no ${name} yet: an earlier step failed`);
  return value;
};
const children: ChildProcess[] = [];

const env = () => ({ CONTAINER_RUNTIME_ENDPOINT: node.criEndpoint });
const bosun = (args: string[], options: { input?: string; timeoutMs?: number } = {}) =>
  node.run([bosunBin, 'cri', ...args], { env: env(), ...options });
const socket = () => node.criEndpoint.replace(/^unix:\/\//, '');

async function ctr(args: string[]): Promise<string> {
  const result = await node.run(['ctr', '-a', socket(), '-n', 'k8s.io', ...args]);
  if (result.code !== 0) throw new Error(`ctr ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

async function ok(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<string> {
  const result = await bosun(args, options);
  if (result.code !== 0) throw new Error(`bosun cri ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

async function waitFor<T>(
  what: string | (() => string),
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`never happened within ${timeoutMs} ms: ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Collects a child's output as it arrives. */
function capture(child: ChildProcess): { out: () => string; err: () => string; exit: Promise<number> } {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<number>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))),
  );
  return { out: () => out, err: () => err, exit };
}

const rows = (table: string) =>
  table
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((line) => line.split(/\s{2,}/));
/** The IDs in a command's output, sorted (so that lists compare whatever their order). */
const idSet = (text: string) =>
  [
    ...new Set(
      text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== ''),
    ),
  ].sort();

/** Running task IDs as containerd lists them. */
async function runningTasks(): Promise<string[]> {
  const lines = (await ctr(['tasks', 'ls'])).trim().split('\n').slice(1);
  return lines
    .map((l) => l.split(/\s+/))
    .filter((f) => f[2] === 'RUNNING')
    .map((f) => f[0]!)
    .sort();
}

function podConfig(name: string): string {
  const path = join(dir, `${name}-pod.json`);
  writeFileSync(
    path,
    JSON.stringify({
      metadata: { name, namespace: 'default', uid: `uid-${name}-${process.pid}`, attempt: 0 },
      log_directory: join(node.podLogDir, `default_${name}`),
      labels: { app: name },
      linux: { cgroup_parent: `${cgroupParent}/${name}` },
    }),
  );
  return path;
}

function containerConfig(name: string, command: string, extra = ''): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `metadata:\n  name: ${name}\nimage:\n  image: ${bedImages.busybox}\ncommand: [sh, -c, ${JSON.stringify(command)}]\n` +
      `log_path: ${name}/0.log\nlabels:\n  role: ${name}\n${extra}`,
  );
  return path;
}

test.before(async () => {
  bed = await createBed();
  node = bed.nodes[0]!;
  cri = new CriClient(node.criEndpoint);
  dir = mkdtempSync(join(tmpdir(), `bosun-cri-real-${process.pid}-`));
});

test.after.always(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  cri?.close();
  await bed?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
  // The pods' cgroup parents, in every hierarchy; runc removed the containers' own.
  for (const hierarchy of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    removeCgroupTree(join('/sys/fs/cgroup', hierarchy, cgroupParent));
  }
});

function removeCgroupTree(path: string): void {
  if (!existsSync(path)) return;
  for (const entry of readdirSync(path)) {
    const child = join(path, entry);
    try {
      if (statSync(child).isDirectory()) removeCgroupTree(child);
    } catch {
      // gone meanwhile
    }
  }
  try {
    rmdirSync(path);
  } catch {
    // still in use: reported by the next run's leftovers, nothing to do here
  }
}

test.serial('version and info come from the node containerd', async (t) => {
  const version = await ok(['version']);
  t.regex(
    version,
    /^Version: {2}0\.1\.0\nRuntimeName: {2}containerd\nRuntimeVersion: {2}\S+\nRuntimeApiVersion: {2}v1\n$/,
  );
  const info = JSON.parse(await ok(['info'])) as {
    status: { conditions: { type: string; status: boolean }[] };
    config: { containerdRootDir: string };
  };
  t.true(info.status.conditions.some((c) => c.type === 'RuntimeReady' && c.status));
  t.true(info.config.containerdRootDir.startsWith(node.stateDir));
});

test.serial('runp, create and start from config files; ctr sees the same objects', async (t) => {
  const pod = podConfig('web');
  ids.pod = (await ok(['runp', pod])).trim();
  t.regex(id('pod'), /^[0-9a-f]{64}$/);
  const scene: Record<string, [string, string?]> = {
    web: ['mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 8080 -h /www'],
    talker: [
      'echo one; echo two >&2; head -c 20000 /dev/zero | tr "\\000" x; echo; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done',
    ],
    burner: ['while true; do :; done'],
    done: ['echo finished; exit 3'],
    reader: ['read line; echo got $line; exit 4', 'stdin: true\nstdin_once: true\n'],
  };
  for (const [name, [command, extra]] of Object.entries(scene)) {
    ids[name] = (await ok(['create', id('pod').slice(0, 12), containerConfig(name, command, extra), pod])).trim();
    t.regex(id(name), /^[0-9a-f]{64}$/, name);
  }
  t.is(
    (await ok(['start', id('web'), id('talker'), id('burner'), id('done'), id('reader')])).trim().split('\n').length,
    5,
  );
  const known = idSet(await ctr(['containers', 'ls', '-q']));
  for (const value of Object.values(ids)) t.true(known.includes(value), `ctr knows ${value.slice(0, 13)}`);
  await waitFor('the "done" container to exit', async () => !(await runningTasks()).includes(id('done')));
});

test.serial('ps lists exactly the running containers ctr shows, with crictl columns', async (t) => {
  const running = (await runningTasks()).filter((task) => task !== id('pod'));
  t.deepEqual(idSet(await ok(['ps', '-q'])), running);
  const table = await ok(['ps']);
  t.deepEqual(table.split('\n')[0]!.split(/\s{2,}/), [
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
  const web = rows(table).find((r) => r[4] === 'web')!;
  t.deepEqual(
    [web[0], web[1], web[3], web[5], web[6], web[7], web[8]],
    [id('web').slice(0, 13), bedImages.busybox, 'Running', '0', id('pod').slice(0, 13), 'web', 'default'],
  );
  t.regex(web[2]!, /^(\d+ seconds|Less than a second|1 second|About a minute) ago$/);
  t.false(rows(table).some((r) => r[4] === 'done'));
  const all = rows(await ok(['ps', '-a']));
  t.deepEqual(all.find((r) => r[4] === 'done')?.[3], 'Exited');
  const json = JSON.parse(await ok(['ps', '-a', '--name', '^do', '-o', 'json'])) as {
    containers: { id: string; state: string }[];
  };
  t.deepEqual(
    json.containers.map((c) => [c.id, c.state]),
    [[id('done'), 'CONTAINER_EXITED']],
  );
  t.is((await ok(['ps', '--state', 'exited', '-q'])).trim(), id('done'));
  t.regex(
    await ok(['ps', '-o', 'yaml', '--name', '^web$']),
    new RegExp(`^containers:\n  - .*\n(    .*\n)*    id: ${id('web')}\n`, 'm'),
  );
  t.is((await ok(['ps', '--label', 'role=web', '-q'])).trim(), id('web'));
  t.is((await ok(['ps', '--latest', '-a', '-q'])).trim().split('\n').length, 1);
});

test.serial('pods lists the sandbox containerd runs, with crictl columns', async (t) => {
  const sandboxes = (await ctr(['containers', 'ls']))
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(/\s+/))
    .filter((f) => f[1] === bedImages.pause)
    .map((f) => f[0]!);
  t.deepEqual(idSet(await ok(['pods', '-q'])), sandboxes.sort());
  const [row] = rows(await ok(['pods', '--name', 'web']));
  t.deepEqual(
    [row![0], row![2], row![3], row![4], row![5], row![6]],
    [id('pod').slice(0, 13), 'Ready', 'web', 'default', '0', '(default)'],
  );
});

test.serial('images lists the image IDs ctr holds', async (t) => {
  const fromCtr = idSet(await ctr(['images', 'ls', '-q'])).filter((ref) => ref.startsWith('sha256:'));
  t.deepEqual(idSet(await ok(['images', '-q'])), fromCtr);
  const busybox = rows(await ok(['images'])).find((r) => r[0] === 'localhost/bosun/busybox')!;
  t.is(busybox[1], '1.35');
  t.regex(busybox[2]!, /^[0-9a-f]{13}$/);
  t.regex(busybox[3]!, /^\d+(\.\d+)?(B|kB|MB)$/);
});

test.serial(
  'inspect shows the PID ctr reports; inspectp the pod IP in the node subnet; inspecti the tags',
  async (t) => {
    const doc = JSON.parse(await ok(['inspect', id('web').slice(0, 10)])) as {
      status: { id: string; state: string };
      info: { pid: number };
    };
    t.is(doc.status.id, id('web'));
    t.is(doc.status.state, 'CONTAINER_RUNNING');
    const task = (await ctr(['tasks', 'ls']))
      .split('\n')
      .map((l) => l.split(/\s+/))
      .find((f) => f[0] === id('web'));
    t.is(doc.info.pid, Number(task?.[1]));
    const pod = JSON.parse(await ok(['inspectp', id('pod')])) as { status: { network: { ip: string } } };
    const prefix = node.podCIDR.split('.').slice(0, 3).join('.');
    t.true(pod.status.network.ip.startsWith(`${prefix}.`), pod.status.network.ip);
    const image = JSON.parse(await ok(['inspecti', bedImages.busybox])) as { status: { repoTags: string[] } };
    t.deepEqual(image.status.repoTags, [bedImages.busybox]);
  },
);

test.serial(
  'logs: whole lines, long lines joined from parts, stdout and stderr apart, --tail, --timestamps',
  async (t) => {
    await waitFor('talker to log a few ticks', async () =>
      (await bosun(['logs', id('talker')])).stdout.includes('tick 2'),
    );
    const all = await bosun(['logs', id('talker')]);
    const lines = all.stdout.split('\n');
    t.is(lines[0], 'one');
    t.is(lines[1], 'x'.repeat(20000), 'a 20000-character line arrives whole');
    t.is(all.stderr, 'two\n');
    // containerd really did split it: the file holds partial records.
    const logPath = JSON.parse(await ok(['inspect', id('talker')])).status.logPath as string;
    t.regex(readFileSync(logPath, 'utf8'), / stdout P x+\n/);
    const tail = await ok(['logs', '--tail', '1', id('talker')]);
    t.regex(tail, /^tick \d+\n$/);
    t.regex(
      await ok(['logs', '-t', '--tail', '1', id('talker')]),
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) tick \d+\n$/,
    );
  },
);

test.serial('logs -f follows across a rotation and ends when the container stops', async (t) => {
  const follower = node.spawn([bosunBin, 'cri', 'logs', '-f', '--tail', '0', id('talker')], {
    env: { ...process.env, ...env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(follower);
  const output = capture(follower);
  await waitFor('a tick to be followed', () => /tick \d+/.test(output.out()));
  const logPath = JSON.parse(await ok(['inspect', id('talker')])).status.logPath as string;
  renameSync(logPath, `${logPath}.rotated`);
  await cri.reopenContainerLog(id('talker'));
  const afterRotation = await waitFor(
    'a tick in the new log file',
    () => /tick (\d+)/.exec(existsSync(logPath) ? readFileSync(logPath, 'utf8') : '')?.[1],
  );
  await waitFor(`tick ${afterRotation} (written after the rotation) to be followed`, () =>
    output.out().includes(`tick ${afterRotation}\n`),
  );
  await ok(['stop', id('talker')]);
  const code = await Promise.race([
    output.exit,
    new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 10_000)),
  ]);
  t.is(code, 0, 'logs -f ended by itself once the container stopped');
});

test.serial('exec: stdout, stderr and the exit code; --sync the same through ExecSync', async (t) => {
  const streamed = await bosun(['exec', id('web'), '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  t.deepEqual([streamed.code, streamed.stdout, streamed.stderr], [3, 'out\n', 'err\n']);
  const synced = await bosun([
    'exec',
    '--sync',
    id('web').slice(0, 8),
    '--',
    'sh',
    '-c',
    'cat /www/index.html; exit 5',
  ]);
  t.deepEqual([synced.code, synced.stdout], [5, 'hello-from-pod\n']);
  const misuse = await bosun(['exec', id('web'), 'ls', '-l']);
  t.is(misuse.code, 2);
  t.regex(misuse.stderr, /put -- before a command that has options/);
});

test.serial('exec -it gives an interactive shell in a PTY, with the terminal size passed on', async (t) => {
  const shell = node.spawn(
    ['script', '-qfec', `stty cols 91 rows 33; ${bosunBin} cri exec -it ${id('web')} sh`, '/dev/null'],
    {
      env: { ...process.env, ...env() },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  children.push(shell);
  const output = capture(shell);
  await waitFor('the remote shell prompt', () => output.out().includes('/ #'));
  shell.stdin!.write('echo $((6*7)); stty size\n');
  await waitFor(
    () => `the shell to answer; it printed ${JSON.stringify(output.out().slice(-300))}`,
    () => /42\r*\n/.test(output.out()) && /33 91/.test(output.out()),
  );
  shell.stdin!.write('exit 7\n');
  t.is(await output.exit, 7, 'script passes on the remote shell exit code');
  t.regex(output.out(), /\b42\b/);
  t.regex(output.out(), /33 91/);
});

test.serial('attach: stdin reaches the main process and its exit code comes back', async (t) => {
  const attached = await bosun(['attach', '-i', id('reader')], { input: 'hello\n', timeoutMs: 20_000 });
  t.is(attached.stdout, 'got hello\n');
  t.is(attached.code, 4);
});

test.serial('port-forward carries each local connection to the pod', async (t) => {
  const forward = node.spawn([bosunBin, 'cri', 'port-forward', id('pod').slice(0, 12), '0:8080'], {
    env: { ...process.env, ...env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(forward);
  const output = capture(forward);
  const port = await waitFor(
    'the forwarding line',
    () => /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(output.out())?.[1],
  );
  for (let i = 0; i < 2; i += 1) {
    const fetched = await node.run(['busybox', 'wget', '-qO-', `http://127.0.0.1:${port}/`]);
    t.is(fetched.stdout, 'hello-from-pod\n', `connection ${i + 1}: ${fetched.stderr}`);
  }
  forward.kill('SIGTERM');
  t.is(await output.exit, 0);
});

test.serial('stats and statsp: the running containers with their use; a busy one shows CPU', async (t) => {
  const table = rows(await ok(['stats', '--seconds', '1']));
  const byName = new Map(table.map((r) => [r[1]!, r]));
  t.deepEqual([...byName.keys()].sort(), ['burner', 'web']);
  t.is(byName.get('web')![0], id('web').slice(0, 13));
  t.true(Number(byName.get('burner')![2]) > 5, `burner CPU % ${byName.get('burner')![2]}`);
  t.regex(byName.get('web')![3]!, /^\d+(\.\d+)?(B|kB|MB)$/);
  const pods = rows(await ok(['statsp', '--seconds', '1']));
  t.deepEqual(
    pods.map((r) => [r[0], r[1]]),
    [['web', id('pod').slice(0, 13)]],
  );
  t.true(Number(pods[0]![2]) > 5, `pod CPU % ${pods[0]![2]}`);
});

test.serial(
  'client calls the CLI does not make: events by relist, resource update, sandbox stats, runtime config, image fs',
  async (t) => {
    // containerd 1.6 has no GetContainerEvents: the watcher must notice and relist instead.
    const controller = new AbortController();
    t.teardown(() => controller.abort());
    const sources: string[] = [];
    const seen: string[] = [];
    const watching = (async () => {
      for await (const event of watchContainerEvents(cri, {
        signal: controller.signal,
        relistIntervalMs: 200,
        onSource: (source) => sources.push(source),
      })) {
        seen.push(`${event.containerId}:${event.containerEventType}`);
      }
    })();
    await waitFor('the watcher to pick its source', () => sources.length > 0);
    const sandbox = JSON.parse(readFileSync(join(dir, 'web-pod.json'), 'utf8')) as never;
    const created = await cri.createContainer(
      id('pod'),
      { metadata: { name: 'evt' }, image: { image: bedImages.busybox }, command: ['sleep', '600'] },
      sandbox,
    );
    await cri.startContainer(created);
    await waitFor(
      () => `created and started events; saw ${JSON.stringify(seen)}`,
      () => seen.includes(`${created}:CONTAINER_CREATED_EVENT`) && seen.includes(`${created}:CONTAINER_STARTED_EVENT`),
    );
    await cri.stopContainer(created, 0);
    await cri.removeContainer(created);
    await waitFor(
      () => `stopped and deleted events; saw ${JSON.stringify(seen)}`,
      () => seen.includes(`${created}:CONTAINER_STOPPED_EVENT`) && seen.includes(`${created}:CONTAINER_DELETED_EVENT`),
    );
    controller.abort();
    await watching;
    t.deepEqual(sources, ['relist']);

    await cri.updateContainerResources(id('web'), { cpuShares: 512, memoryLimitInBytes: 64 * 1024 * 1024 });
    const resources = (await cri.containerStatus(id('web'))).status?.resources?.linux;
    t.deepEqual([resources?.cpuShares, resources?.memoryLimitInBytes], [512, 64 * 1024 * 1024]);

    const podStats = await cri.podSandboxStats(id('pod'));
    t.is(podStats.attributes?.id, id('pod'));
    t.true((podStats.linux?.memory?.workingSetBytes?.value ?? 0) > 0);

    await cri.updateRuntimeConfig(node.podCIDR);
    const runtimeConfig = await cri.runtimeConfig().then(
      () => 'answered',
      (err: { code: string }) => err.code,
    );
    t.is(runtimeConfig, 'BOSUN_CRI_UNIMPLEMENTED', 'containerd 1.6 has no RuntimeConfig');

    const fs = await cri.imageFsInfo();
    t.true(fs.imageFilesystems[0]!.fsId!.mountpoint.startsWith(node.stateDir));
  },
);

test.serial('stop, rm, stopp and rmp: refusals without --force, and nothing left for ctr', async (t) => {
  const refused = await bosun(['rm', id('web')]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /is running: stop it first, or use --force/);
  t.is((await ok(['stop', '-t', '1', id('web')])).trim(), id('web'));
  t.is((await ok(['rm', id('web')])).trim(), id('web'));
  t.false(idSet(await ctr(['containers', 'ls', '-q'])).includes(id('web')));
  t.is((await bosun(['rmp', id('pod')])).code, 1, 'a ready pod needs --force');
  await ok(['stopp', id('pod')]);
  t.is(rows(await ok(['pods']))[0]?.[2], 'NotReady');
  await ok(['rmp', id('pod')]);
  const left = idSet(await ctr(['containers', 'ls', '-q']));
  for (const value of Object.values(ids)) t.false(left.includes(value), `${value.slice(0, 13)} removed`);
});

test.serial('errors people can act on: unknown ID, no runtime, not root', async (t) => {
  const unknown = await bosun(['inspect', 'ffffffffffff']);
  t.deepEqual([unknown.code, unknown.stderr], [1, 'bosun: no container with ID "ffffffffffff"\n']);
  const missing = await node.run([bosunBin, 'cri', '-r', 'unix:///nonexistent/containerd.sock', 'ps']);
  t.deepEqual(
    [missing.code, missing.stderr],
    [
      1,
      'bosun: containerd is not reachable at unix:///nonexistent/containerd.sock: is it running? (systemctl status containerd)\n',
    ],
  );
  const notRoot = await node.run(['runuser', '-u', 'nobody', '--', bosunBin, 'cri', 'ps'], { env: env() });
  t.is(notRoot.code, 1);
  t.is(notRoot.stderr, `bosun: permission denied on ${node.criEndpoint}: run bosun as root (or with sudo)\n`);
});

test.serial('pull from a local docker-registry through CRI, then rmi', async (t) => {
  const storage = join(dir, 'registry');
  const config = join(dir, 'registry.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:5000\n`,
  );
  const registry = node.spawn(['docker-registry', 'serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(registry);
  await waitFor(
    'the registry to answer',
    async () => (await node.run(['busybox', 'wget', '-qO-', 'http://127.0.0.1:5000/v2/'])).code === 0,
  );
  const remote = '127.0.0.1:5000/bosun/busybox:pushed';
  await ctr(['images', 'tag', bedImages.busybox, remote]);
  await ctr(['images', 'push', '--plain-http', remote]);
  await ctr(['images', 'rm', remote]);
  t.false(idSet(await ctr(['images', 'ls', '-q'])).includes(remote), 'only the registry has it now');

  const pulled = await bosun(['pull', remote]);
  t.is(pulled.code, 0, pulled.stderr);
  const imageId = JSON.parse(await ok(['inspecti', bedImages.busybox])).status.id as string;
  t.is(pulled.stdout, `Image is up to date for ${imageId}\n`);
  t.true(idSet(await ctr(['images', 'ls', '-q'])).includes(remote), 'containerd has the pulled reference');

  const absent = await bosun(['pull', '127.0.0.1:5000/bosun/busybox:absent']);
  t.is(absent.code, 1);
  t.regex(absent.stderr, /^bosun: not found: .*busybox:absent.*not found\n$/);

  const removed = await ok(['rmi', remote]);
  t.true(removed.includes(`Deleted: ${remote}\n`));
  t.false(idSet(await ctr(['images', 'ls', '-q'])).includes(remote));
  registry.kill('SIGTERM');
});
