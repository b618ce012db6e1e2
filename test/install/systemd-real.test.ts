/**
 * bosun's units under a real systemd: a Debian 12 system container (systemd-nspawn, systemd as
 * PID 1, its own network namespace; see systemd-machine.ts) runs README command (A), install.sh,
 * and the tests check what an operator relies on — Type=notify with READY only once ready, watchdog
 * keep-alives, JSON logs in journald, `systemctl restart|stop bosun-agent` leaving containers alone
 * (KillMode=mixed), graceful node shutdown through logind's delay lock on poweroff (regular pods
 * first, critical pods last), and `install.sh uninstall` leaving nothing. The tests run in order on
 * one machine; the last one boots it a second time (the units come back by themselves) to uninstall.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join, relative } from 'node:path';
import { waitFor } from '../helpers/wait.ts';
import { cachedRoot, repo, SystemdMachine, whyNoSystemdMachine } from './systemd-machine.ts';

const unavailable = whyNoSystemdMachine();
const kubectlOnHost = ['/usr/bin/kubectl', '/usr/local/bin/kubectl', '/usr/lib/google-cloud-sdk/bin/kubectl'].find(
  (path) => existsSync(path),
);
const reason = unavailable ?? (kubectlOnHost === undefined ? 'kubectl is not installed' : undefined);

const src = '/run/bosun-src';
const deps = '/run/bosun-deps/node_modules';
// kubectl's discovery cache is the test's, not bosun's: it stays in /run, off the disk uninstall checks
const kubectl = '/run/bosun-tools/kubectl --kubeconfig /etc/bosun/admin.kubeconfig --cache-dir /run/kubectl-cache';
const bosun = '/usr/local/bin/bosun';
const ctr = 'ctr --address /run/containerd/containerd.sock -n k8s.io';
const cri = `${bosun} cri --runtime-endpoint unix:///run/containerd/containerd.sock`;

// Graceful node shutdown: 20 s in all, the last 8 s for critical pods (logind's own cap is 5 s)
const agentConfig = 'shutdown-grace-period: 20s\nshutdown-grace-period-critical-pods: 8s\n';
// A short watchdog, so that a few seconds prove the keep-alives (a missed one kills the daemon)
const watchdogDropIn = '[Service]\nWatchdogSec=4s\n';

const podManifests = ['regular-a', 'regular-b']
  .map((name) => pod(name, 'default'))
  .concat(pod('critical', 'kube-system', 'system-node-critical'))
  .join('---\n');

function pod(name: string, namespace: string, priorityClassName?: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  terminationGracePeriodSeconds: 5
  ${priorityClassName ? `priorityClassName: ${priorityClassName}` : ''}
  containers:
  - name: main
    image: localhost/bosun/busybox:1.35
    command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 1; done']
`;
}

interface UnitState {
  Type: string;
  ActiveState: string;
  MainPID: string;
  NRestarts: string;
  StatusText: string;
  WatchdogUSec: string;
  WatchdogTimestampMonotonic: string;
  ActiveEnterTimestampMonotonic: string;
}

let machine: SystemdMachine;

async function unit(name: string): Promise<UnitState> {
  const text = await machine.must(
    `systemctl show ${name} -p Type,ActiveState,MainPID,NRestarts,StatusText,WatchdogUSec,WatchdogTimestampMonotonic,ActiveEnterTimestampMonotonic`,
  );
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((line) => line.split(/=(.*)/s).slice(0, 2)),
  ) as UnitState;
}

/** The JSON log lines of a unit, as journald keeps them (MESSAGE parsed), with journald's clock. */
async function jsonLogs(name: string): Promise<{ monotonic: number; message: Record<string, unknown> }[]> {
  const out = await machine.must(`journalctl -u ${name} -o json --no-pager`, { timeoutMs: 30_000 });
  return out
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { MESSAGE?: unknown; __MONOTONIC_TIMESTAMP: string })
    .filter((entry) => typeof entry.MESSAGE === 'string' && entry.MESSAGE.startsWith('{'))
    .map((entry) => ({
      monotonic: Number(entry.__MONOTONIC_TIMESTAMP),
      message: JSON.parse(entry.MESSAGE as string) as Record<string, unknown>,
    }));
}

interface CriContainer {
  id: string;
  state: string;
  createdAt: string;
  labels?: Record<string, string>;
}

async function containers(): Promise<CriContainer[]> {
  const out = await machine.must(`${cri} ps -o json`);
  const parsed = JSON.parse(out) as { containers: CriContainer[] };
  return parsed.containers
    .map(({ id, state, createdAt }) => ({ id, state, createdAt }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** When systemd last saw the unit become active, in ms since the epoch (µs precision). */
async function activeSince(name: string): Promise<number> {
  const text = await machine.must(`systemctl show ${name} -p ActiveEnterTimestamp --timestamp=us+utc --value`);
  const [, date, time] = /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+)/.exec(text) ?? [];
  return Date.parse(`${date}T${time?.slice(0, 12)}Z`);
}

async function waitActive(name: string): Promise<void> {
  await waitFor(async () => (await unit(name)).ActiveState === 'active', {
    what: `${name} active`,
    timeoutMs: 60_000,
    intervalMs: 250,
  });
}

if (reason !== undefined) {
  process.stdout.write(`  - SKIP systemd as PID 1: ${reason}\n`);
  test.skip(`bosun's units under systemd as PID 1 — skipped: ${reason}`, () => {});
} else {
  machine = new SystemdMachine({
    id: `sd${process.pid}`,
    address: '10.250.0.2',
    readOnlyBinds: {
      [repo]: src,
      [realpathSync(join(repo, 'node_modules'))]: deps,
      [kubectlOnHost!]: '/run/bosun-tools/kubectl',
    },
  });

  test.before(async () => {
    await machine.boot();
    // test settings that live in /run (gone at the next boot) or in /etc/bosun (uninstall removes it)
    await machine.must(
      'mkdir -p /run/systemd/system/bosun-agent.service.d /run/systemd/system/bosun-server.service.d /etc/bosun' +
        ` && printf '${watchdogDropIn}' | tee /run/systemd/system/bosun-agent.service.d/watchdog.conf > /run/systemd/system/bosun-server.service.d/watchdog.conf` +
        ` && printf '${agentConfig}' > /etc/bosun/config.yaml`,
    );
  });

  test.after.always(async () => {
    await machine.destroy();
  });

  test.serial(
    'install.sh (README command A) runs server and agent as Type=notify units, READY only once ready',
    async (t) => {
      t.timeout(300_000);
      const install = await machine.run(`cd ${src} && BOSUN_NODE_MODULES=${deps} ./install.sh`, { timeoutMs: 280_000 });
      t.is(install.code, 0, `${install.stdout}\n${install.stderr}`);
      t.regex(install.stdout, /done: node bosun-node is Ready/);

      const server = await unit('bosun-server');
      const agent = await unit('bosun-agent');
      t.like(server, { Type: 'notify', ActiveState: 'active', NRestarts: '0', StatusText: 'serving on port 6443' });
      t.like(agent, { Type: 'notify', ActiveState: 'active', NRestarts: '0' });
      t.regex(agent.StatusText, /^node bosun-node registered/);
      t.is((await unit('containerd')).ActiveState, 'active');

      // systemd saw each daemon active only after the daemon itself logged that it was ready (the
      // daemon's own clock: journald stamps a line when it reads it, which may be after READY=1)
      for (const [name, readyMessage] of [
        ['bosun-agent', 'agent ready'],
        ['bosun-server', 'bosun server is serving'],
      ] as const) {
        const ready = (await jsonLogs(name)).find((line) => line.message.msg === readyMessage);
        t.truthy(ready, `${name} logged "${readyMessage}"`);
        t.true(Number(ready?.message.time) <= (await activeSince(name)), name);
      }
      await machine.must(`${kubectl} get nodes bosun-node`);
    },
  );

  test.serial('systemd receives watchdog keep-alives from both daemons', async (t) => {
    for (const name of ['bosun-server', 'bosun-agent']) {
      const before = await unit(name);
      t.is(before.WatchdogUSec, '4s', name);
      // two watchdog periods: a daemon that did not ping would be killed and restarted by now
      await new Promise((resolve) => setTimeout(resolve, 4_500));
      const after = await unit(name);
      t.true(Number(after.WatchdogTimestampMonotonic) > Number(before.WatchdogTimestampMonotonic), `${name} pinged`);
      t.like(after, { ActiveState: 'active', MainPID: before.MainPID, NRestarts: '0' });
    }
  });

  test.serial("journald keeps the daemons' JSON logs", async (t) => {
    for (const [name, component] of [
      ['bosun-server', 'server'],
      ['bosun-agent', 'agent'],
    ] as const) {
      const lines = await jsonLogs(name);
      t.true(lines.length > 5, `${name}: ${lines.length} JSON lines`);
      t.true(lines.every((line) => typeof line.message.level === 'number' && typeof line.message.time === 'number'));
      t.true(
        lines.some((line) => line.message.component === component),
        name,
      );
    }
  });

  test.serial('systemctl restart bosun-agent restarts no container', async (t) => {
    t.timeout(120_000);
    await machine.must(`${kubectl} apply -f -`, { input: podManifests });
    await machine.must(
      `${kubectl} wait --for=condition=Ready --timeout=90s pod/regular-a pod/regular-b && ${kubectl} -n kube-system wait --for=condition=Ready --timeout=90s pod/critical`,
      { timeoutMs: 100_000 },
    );
    const before = await containers();
    t.is(before.filter((c) => c.state === 'CONTAINER_RUNNING').length, 3);
    const agentBefore = await unit('bosun-agent');

    await machine.must('systemctl restart bosun-agent', { timeoutMs: 90_000 });
    const agentAfter = await unit('bosun-agent');
    t.not(agentAfter.MainPID, agentBefore.MainPID, 'a new agent process');
    t.is(agentAfter.ActiveState, 'active');
    // let the new agent sync its pods once before looking
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    t.deepEqual(await containers(), before);
    const restarts = await machine.must(
      `${kubectl} get pods -A -o jsonpath='{range .items[*]}{.status.containerStatuses[0].restartCount}{" "}{end}'`,
    );
    t.is(restarts.trim(), '0 0 0');
  });

  test.serial('systemctl stop bosun-agent leaves the pods running (KillMode=mixed)', async (t) => {
    const before = await containers();
    await machine.must('systemctl stop bosun-agent', { timeoutMs: 90_000 });
    t.is((await unit('bosun-agent')).ActiveState, 'inactive');
    t.deepEqual(await containers(), before);
    t.true(before.every((c) => c.state === 'CONTAINER_RUNNING'));
    await machine.must('systemctl start bosun-agent', { timeoutMs: 90_000 });
    await waitActive('bosun-agent');
    t.deepEqual(await containers(), before);
  });

  test.serial('poweroff drains the pods through the logind delay lock, critical pods last', async (t) => {
    t.timeout(120_000);
    const locks = await machine.must('systemd-inhibit --list --no-pager');
    t.regex(locks, /bosun agent.*shutdown.*delay/);
    // the agent raised logind's cap (5 s by default) to its 20 s grace period, as the kubelet does
    const cap = await machine.must(
      'busctl get-property org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager InhibitDelayMaxUSec',
    );
    t.is(cap.trim(), 't 20000000');
    // systemctl asks logind, which announces PrepareForShutdown and waits for the delay lock
    await machine.run('systemctl poweroff', { timeoutMs: 30_000 });
    await machine.waitGone(90_000);

    const text = (await machine.journal(['-u', 'bosun-agent', '-o', 'cat'])).stdout;
    t.regex(text, /graceful node shutdown armed/);
    const lines = text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; critical?: boolean; pods?: number });
    const drain = lines.filter((line) => line.msg?.startsWith('node shutdown'));
    t.deepEqual(
      drain.map((line) => [line.msg, line.critical, line.pods]),
      [
        ['node shutdown: stopping pods', undefined, undefined],
        ['node shutdown: phase done', false, 2],
        ['node shutdown: phase done', true, 1],
      ],
    );
  });

  test.serial('install.sh uninstall leaves nothing behind', async (t) => {
    t.timeout(180_000);
    await machine.boot();
    // the units are enabled: they come back with the machine
    await waitActive('bosun-server');
    await waitActive('bosun-agent');
    const uninstall = await machine.run(`cd ${src} && ./install.sh uninstall`, { timeoutMs: 150_000 });
    t.is(uninstall.code, 0, `${uninstall.stdout}\n${uninstall.stderr}`);

    t.is((await machine.must("systemctl list-unit-files --no-legend 'bosun*' || true")).trim(), '');
    t.is((await machine.must('iptables-save | grep -ci bosun || true')).trim(), '0');
    // mount points of bosun's, the pods' or the runtime's
    const mounts = await machine.must(
      "awk '{print $5}' /proc/self/mountinfo | grep -e ^/var/lib/bosun -e ^/var/lib/kubelet -e ^/run/containerd/ -e ^/run/netns/ -e ^/var/log/pods || true",
    );
    t.is(mounts, '');
    t.is((await machine.must(`${ctr} containers ls -q | wc -l`)).trim(), '0');
    t.is((await machine.must(`${ctr} tasks ls -q | wc -l`)).trim(), '0');
    await machine.must('systemctl poweroff');
    await machine.waitGone(60_000);
    t.deepEqual(leftovers(machine.upperDir, cachedRoot()!), []);
  });
}

/**
 * Files the machine wrote over the cached root and left different from it, but for what any boot
 * of a Debian system writes (journal, systemd's state, login records, nspawn's resolv.conf) and
 * containerd's enablement, which is Debian's default and stays with the package.
 */
function leftovers(upper: string, lower: string): string[] {
  const systemNoise = [
    /^var\/log\/journal\//,
    /^var\/lib\/systemd\//,
    /^var\/log\/(wtmp|btmp|lastlog)$/,
    /^etc\/(machine-id|resolv\.conf|\.pwd\.lock)$/,
    /^etc\/systemd\/system\/multi-user\.target\.wants\/containerd\.service$/,
  ];
  return readdirSync(upper, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(upper, join(entry.parentPath, entry.name)))
    .filter((path) => !systemNoise.some((pattern) => pattern.test(path)))
    .filter((path) => !sameFile(join(upper, path), join(lower, path)))
    .sort();
}

/** Whether a file copied up is back to what the cached root has (a configuration put back). */
function sameFile(a: string, b: string): boolean {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}
