/**
 * install.sh as an operator runs it, in its no-systemd mode, on a "machine" that is a network
 * namespace of a test bed, with every folder moved under the test's own state folder (BOSUN_ROOT):
 * the single-node cluster comes up through bosun init and the real bosun join path, kubectl sees the
 * node Ready and a pod runs; a second "machine" (another namespace, its own folders) joins with
 * `install.sh join` and the pods of the two machines reach each other with no step by hand (the
 * agents route each other's pod subnets); then `install.sh uninstall` leaves no process, chain,
 * bridge, VXLAN device, route, mount, CNI state or file behind.
 */
import test from 'ava';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createBed, type Bed, type BedNode } from '../bed/index.ts';
import { run } from '../helpers/run.ts';
import { installShOn, machineKubectl } from './install-sh-runner.ts';
import { hostCgroupMounts } from '../../agent/pods/pod-cgroups.ts';
import { waitFor } from '../helpers/wait.ts';

let bed: Bed;
let node: BedNode;
let root: string;
/** The second machine, which joins solo's cluster. */
let second: BedNode;
let secondRoot: string;
/** `install.sh join ...` arguments as the first install printed them. */
let joinArgs: string[] = [];

test.before(async () => {
  // no images in the bed's own containerd: the installer builds and imports them into its own;
  // no pod network from the bed: the installed agents make it
  bed = await createBed({ nodes: 2, images: [], podNetwork: 'agents' });
  node = bed.nodes[0]!;
  second = bed.nodes[1]!;
  root = join(bed.stateDir, 'machine');
  secondRoot = join(bed.stateDir, 'machine-2');
});

test.after.always(async () => {
  // uninstall first (the thing under test); the bed then removes whatever a failure left
  for (const [machine, folder, name] of [
    [second, secondRoot, 'second'],
    [node, root, 'solo'],
  ] as const) {
    if (folder !== undefined && existsSync(join(folder, 'opt', 'bosun', 'bin', 'bosun')))
      await installShOn(machine, folder, name, 'uninstall').catch(() => undefined);
  }
  await bed?.destroy();
});

const installSh = (...args: string[]) => installShOn(node, root, 'solo', ...args);
const kubectl = (...args: string[]) => machineKubectl(node, root, args);

/** Every file, link or socket under `dir` (empty folders do not count). */
function entriesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name));
}

test.serial('install.sh: a single-node cluster that kubectl sees Ready and that runs a pod', async (t) => {
  const installed = await installSh();
  t.is(installed.code, 0, `${installed.stdout}\n${installed.stderr}`);
  t.regex(installed.stdout, /systemd is not running this machine: containerd runs detached/);
  t.regex(installed.stderr, /\[init\] systemd is not running this machine: bosun server runs detached/);
  t.regex(installed.stderr, /\[join\] systemd is not running this machine: the agent runs detached/);
  t.regex(installed.stdout, new RegExp(`export KUBECONFIG=${root}/etc/bosun/admin.kubeconfig`));
  // the join command bosun init printed is the one the local node joined with
  t.regex(
    installed.stdout,
    /install\.sh join https:\/\/172\.30\.0\.11:6443 --token [a-z0-9]{6}\.[a-z0-9]{16} --discovery-token-ca-cert-hash sha256:[0-9a-f]{64}/,
  );
  joinArgs = /install\.sh (join .*)/.exec(installed.stdout)![1]!.trim().split(/\s+/);
  t.is(statSync(join(root, 'etc', 'bosun', 'admin.kubeconfig')).mode & 0o777, 0o600);
  t.is(statSync(join(root, 'etc', 'bosun', 'agent.kubeconfig')).mode & 0o777, 0o600);
  // bosun is one executable (Node inside), and both daemons run from it, not from the Node tree
  const executable = join(root, 'usr', 'local', 'bin', 'bosun');
  t.false(lstatSync(executable).isSymbolicLink());
  t.is(readFileSync(executable).subarray(0, 4).toString('latin1'), '\x7fELF');
  for (const daemon of ['server', 'agent']) {
    const pid = readFileSync(join(root, 'run', 'bosun', `${daemon}.pid`), 'utf8').trim();
    t.is(readlinkSync(`/proc/${pid}/exe`), executable, `the ${daemon} runs from the installed executable`);
  }

  const ready = await kubectl('get', 'node', 'solo', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}');
  t.is(ready.stdout, 'True', ready.stderr);
  const csrs = await kubectl('get', 'csr', '-o', 'jsonpath={.items[*].spec.username}');
  t.regex(csrs.stdout, /system:bootstrap:[a-z0-9]{6}/, 'the node joined with the bootstrap token');

  const created = await kubectl(
    'run',
    'hello',
    '--image=localhost/bosun/busybox:1.35',
    '--restart=Never',
    '--',
    'sh',
    '-c',
    'echo hello from solo; sleep 3600',
  );
  t.is(created.code, 0, created.stderr);
  const podIP = await waitFor(
    async () => {
      const pod = await kubectl('get', 'pod', 'hello', '-o', 'jsonpath={.status.phase} {.status.podIP}');
      const [phase, ip] = pod.stdout.split(' ');
      return phase === 'Running' && ip ? ip : undefined;
    },
    { what: 'pod hello Running with an address', timeoutMs: 120_000, intervalMs: 500 },
  );
  const cidr = await kubectl('get', 'node', 'solo', '-o', 'jsonpath={.spec.podCIDR}');
  t.true(
    podIP.startsWith(cidr.stdout.split('.').slice(0, 3).join('.')),
    `pod address ${podIP} from the node's subnet ${cidr.stdout}`,
  );
  const logs = await waitFor(
    async () => {
      const out = await kubectl('logs', 'hello');
      return out.stdout.includes('hello from solo') ? out.stdout : undefined;
    },
    { what: "the pod's output through kubectl logs", timeoutMs: 30_000, intervalMs: 500 },
  );
  t.regex(logs, /hello from solo/);
});

test.serial('install.sh again changes nothing and keeps the node Ready', async (t) => {
  const again = await installSh();
  t.is(again.code, 0, `${again.stdout}\n${again.stderr}`);
  t.regex(again.stderr, /containerd already runs/);
  t.regex(again.stderr, /bosun server already runs/);
  t.regex(again.stdout, /node solo already joined and its agent runs/);
  const pod = await kubectl('get', 'pod', 'hello', '-o', 'jsonpath={.status.phase}');
  t.is(pod.stdout, 'Running');
});

test.serial("install.sh join: a second machine joins, and the two machines' pods reach each other", async (t) => {
  const joined = await installShOn(second, secondRoot, 'second', ...joinArgs);
  t.is(joined.code, 0, `${joined.stdout}\n${joined.stderr}`);
  t.regex(joined.stdout, /node second joined and is Ready/);
  const web = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      nodeName: 'second',
      containers: [
        {
          name: 'web',
          image: 'localhost/bosun/busybox:1.35',
          command: [
            'sh',
            '-c',
            'mkdir -p /www && echo hello from second > /www/index.html && exec httpd -f -p 8080 -h /www',
          ],
        },
      ],
    },
  };
  const created = await node.run(
    ['kubectl', '--kubeconfig', join(root, 'etc', 'bosun', 'admin.kubeconfig'), 'create', '-f', '-'],
    { input: JSON.stringify(web), timeoutMs: 60_000 },
  );
  t.is(created.code, 0, created.stderr);
  const webIP = await waitFor(
    async () => {
      const pod = await kubectl('get', 'pod', 'web', '-o', 'jsonpath={.status.phase} {.status.podIP}');
      const [phase, ip] = pod.stdout.split(' ');
      return phase === 'Running' && ip ? ip : undefined;
    },
    { what: 'pod web Running on the second machine', timeoutMs: 120_000, intervalMs: 500 },
  );
  // solo's pod fetches the second machine's pod, across the two machines
  const fetched = await waitFor(
    async () => {
      const out = await kubectl('exec', 'hello', '--', 'wget', '-q', '-O', '-', `http://${webIP}:8080/`);
      return out.code === 0 ? out.stdout : undefined;
    },
    { what: "solo's pod fetching the second machine's pod", timeoutMs: 30_000, intervalMs: 500 },
  );
  t.is(fetched.trim(), 'hello from second');
  const routes = await node.run(['ip', 'route', 'show', 'proto', '98']);
  t.regex(
    routes.stdout,
    new RegExp(`via ${second.ip.replaceAll('.', '\\.')} dev eth0`),
    "solo routes the second machine's pods by host-gw",
  );

  const removed = await installShOn(second, secondRoot, 'second', 'uninstall');
  t.is(removed.code, 0, `${removed.stdout}\n${removed.stderr}`);
  t.deepEqual(entriesUnder(secondRoot), [], 'no file left under the second machine folder');
  t.false((await second.run(['ip', 'link', 'show', 'bosun.1'])).code === 0, 'no bosun.1 on the second machine');
  t.is((await second.run(['ip', 'route', 'show', 'proto', '98'])).stdout.trim(), '', 'no pod route of ours left');
});

test.serial('install.sh uninstall leaves no process, chain, bridge, mount, CNI state or file', async (t) => {
  const removed = await installSh('uninstall');
  t.is(removed.code, 0, `${removed.stdout}\n${removed.stderr}`);
  t.regex(removed.stderr, /\[reset\] removed 1 pod sandbox/);
  t.false((await run(['ps', '-eo', 'args'])).stdout.includes(root), 'no process runs from the machine folder');
  const save = await node.run(['iptables-save']);
  t.false(save.stdout.includes('BOSUN-'), 'no BOSUN chain or rule in the node namespace');
  t.false(save.stdout.includes('BOSUNPOD-'), 'no pod network chain or rule in the node namespace');
  t.false((await node.run(['ip', 'link', 'show', 'bosun.1'])).code === 0, 'no bosun.1');
  t.is((await node.run(['ip', 'route', 'show', 'proto', '98'])).stdout.trim(), '', 'no pod route of ours left');
  t.false(
    existsSync(`/run/netns/${node.netns}`) && (await node.run(['ip', 'link', 'show', 'cni0'])).code === 0,
    'no cni0 bridge',
  );
  t.false(readFileSync('/proc/self/mountinfo', 'utf8').includes(root), 'no mount under the machine folder');
  t.deepEqual(entriesUnder(root), [], 'no file left under the machine folder');
  // whether reset had to wait for busy cgroups (the EBUSY retry): logged, to see if it is ever needed
  t.log(/\[reset\] removed .* cgroup folder.*$/m.exec(removed.stderr)?.[0]);
  t.regex(
    removed.stderr,
    new RegExp(`\\[reset\\] removed [1-9]\\d* cgroup folder\\(s\\) under ${node.cgroupRoot}/kubepods`),
  );
  const mounts = await hostCgroupMounts();
  t.true(mounts.length > 0, 'the host has cgroup hierarchies to look in');
  const podCgroups = mounts.map((mount) => join(mount, node.cgroupRoot, 'kubepods')).filter((dir) => existsSync(dir));
  t.deepEqual(podCgroups, [], 'no pod cgroup left in any hierarchy');
  const twice = await installSh('uninstall');
  t.is(twice.code, 0, `uninstall again is harmless: ${twice.stderr}`);
});
