/**
 * The agent's network policy loop against a real API server (in process) and a recording fake of
 * the host's tools: a new pod is admitted only once a restore holds its address; a change that
 * alters no rule (a pod's annotation) touches nothing on the host; a policy change does.
 */
import test from 'ava';
import { pino } from 'pino';
import { NetworkPolicyEnforcer } from '../../agent/network-policy/enforcer.ts';
import type { Pod } from '../../kube/corev1.ts';
import { refs } from '../../kube/resource-ref.ts';
import { fixedChains, hookArgs } from '../../agent/network-policy/ruleset.ts';
import type { CommandResult, CommandRunner } from '../../netproxy/command-runner.ts';
import { sharedInProcess } from '../controlplane/in-process.ts';
import { userIdentity } from '../controlplane/server-process.ts';
import { KubeClient } from '../../kube/client.ts';

const shared = sharedInProcess(test);

/**
 * Answers every tool with success and keeps each iptables-restore payload that writes; its FORWARD
 * chain starts with `forwardRules` (our hook once a restore put it there, unless told otherwise).
 */
class RecordingHost implements CommandRunner {
  readonly restores: string[] = [];
  forwardRules = '';
  /** Whether our drop chains exist (a restore puts them back). */
  dropChains = true;
  /** Listings of FORWARD and the drop chains: an iptables-restore that only lists, or iptables-save. */
  reads = 0;
  async run(argv: readonly string[], options: { input?: string } = {}): Promise<CommandResult> {
    const input = options.input ?? '';
    const listing = argv[0] === 'iptables-save' || (argv[0] === 'iptables-restore' && input.includes('\n-S '));
    if (listing) {
      this.reads++;
      const drops = this.dropChains ? `-N ${fixedChains.dropIngress}\n-N ${fixedChains.dropEgress}\n` : '';
      // iptables-restore fails listing a chain that does not exist; iptables-save lists what there is
      const code = this.dropChains || argv[0] === 'iptables-save' ? 0 : 1;
      return { code, stdout: `-P FORWARD ACCEPT\n${this.forwardRules}\n${drops}`, stderr: '' };
    }
    if (argv[0] === 'iptables-restore') {
      this.restores.push(input);
      this.forwardRules = `-A FORWARD ${hookArgs}`;
      this.dropChains = true;
    }
    return { code: 0, stdout: '', stderr: '' };
  }
}

const until = async (check: () => boolean, what: string) => {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** Runs an enforcer for the node over `client` with a recording host while `body` runs, then stops it. */
async function withEnforcer(
  options: { client: KubeClient; nodeName: string; checkMs?: number; resyncMs?: number },
  body: (enforcer: NetworkPolicyEnforcer, host: RecordingHost) => Promise<void>,
): Promise<void> {
  const host = new RecordingHost();
  const enforcer = new NetworkPolicyEnforcer({ ...options, runner: host, log: pino({ level: 'silent' }) });
  const abort = new AbortController();
  const running = enforcer.run(abort.signal);
  try {
    await body(enforcer, host);
  } finally {
    abort.abort();
    await running;
  }
}

test('admits a pod once its address is in the rules; rule-neutral changes skip the host', async (t) => {
  const client = shared.client();
  await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'np-loop' } });
  await client.create(refs.networkpolicies, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'deny', namespace: 'np-loop' },
    spec: { podSelector: { matchLabels: { app: 'web' } } },
  });
  const pod = await client.create<Pod>(refs.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'np-loop', labels: { app: 'web' } },
    spec: { nodeName: 'np-node', containers: [{ name: 'c', image: 'busybox' }] },
  });
  await withEnforcer({ client, nodeName: 'np-node' }, async (enforcer, host) => {
    await enforcer.admitPod(pod, '10.244.7.7');
    t.regex(
      host.restores.at(-1) ?? '',
      /-A BOSUNPOL-FORWARD -d 10\.244\.7\.7\/32 .*-j BOSUNPOL-PODI-/,
      'the pod is isolated before it starts',
    );

    // an annotation changes no rule: the sync that follows applies nothing
    const restoresBefore = host.restores.length;
    await client.patch(refs.pods, 'web', { metadata: { annotations: { touched: 'yes' } } }, { namespace: 'np-loop' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    t.is(host.restores.length, restoresBefore);

    // a policy that no longer selects the pod: its rules go in the next restore
    const newSelector = { spec: { podSelector: { matchLabels: { app: 'other' } } } };
    await client.patch(refs.networkpolicies, 'deny', newSelector, { namespace: 'np-loop' });
    await until(() => host.restores.length > restoresBefore, 'a restore after the policy changed');
    t.notRegex(host.restores.at(-1) ?? '', /-d 10\.244\.7\.7\/32/);
    t.regex(enforcer.metricsText(), /bosun_network_policy_syncs_total\{result="success"\} \d+/);
  });
});

/** A namespace with a policy that isolates every pod in it, and one pod of `nodeName` there. */
async function isolatedPod(client: KubeClient, namespace: string, nodeName: string): Promise<Pod> {
  await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  await client.create(refs.networkpolicies, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'deny-all', namespace },
    spec: { podSelector: {} },
  });
  return client.create<Pod>(refs.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'isolated', namespace },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] },
  });
}

test('a rule put above our hook in FORWARD is noticed at the next check, not at the periodic sync', async (t) => {
  const client = shared.client();
  const pod = await isolatedPod(client, 'np-hook', 'np-node-2');
  await withEnforcer({ client, nodeName: 'np-node-2', checkMs: 100 }, async (enforcer, host) => {
    await enforcer.admitPod(pod, '10.244.8.8');
    await until(() => host.restores.length === 1, 'the first sync');
    await new Promise((resolve) => setTimeout(resolve, 400));
    t.is(host.restores.length, 1, 'nothing to do while the hook is first');
    host.forwardRules = `-A FORWARD -j ACCEPT\n-A FORWARD ${hookArgs}`;
    await until(() => host.restores.length === 2, 'a sync that puts the hook back on top');
    t.true(host.restores[1]!.includes(`-D FORWARD ${hookArgs}\n-I FORWARD 1 ${hookArgs}`));
  });
});

test('drop chains removed by hand under a hook still first are noticed at the next check', async (t) => {
  const client = shared.client();
  const pod = await isolatedPod(client, 'np-drops', 'np-node-4');
  await withEnforcer({ client, nodeName: 'np-node-4', checkMs: 100 }, async (enforcer, host) => {
    await enforcer.admitPod(pod, '10.244.6.6');
    await until(() => host.restores.length === 1, 'the first sync');
    host.dropChains = false;
    await until(() => host.restores.length === 2, 'a sync that puts the drop chains back');
    t.true(host.restores[1]!.includes(`:${fixedChains.dropIngress} - [0:0]`));
    t.true(host.dropChains);
  });
});

test('with no pod of the node isolated, nothing is read or applied between syncs', async (t) => {
  const options = { client: shared.client(), nodeName: 'np-node-idle', checkMs: 50, resyncMs: 50 };
  await withEnforcer(options, async (_enforcer, host) => {
    await until(() => host.restores.length === 1, 'the first sync');
    const readsAfterSync = host.reads;
    await new Promise((resolve) => setTimeout(resolve, 500));
    t.is(host.reads, readsAfterSync, 'no process was started to read FORWARD or the counters');
    t.is(host.restores.length, 1, 'no periodic restore of rules that drop nothing');
  });
});

test('a node that may not read NetworkPolicy enforces none and lets its pods start', async (t) => {
  const { admin, dataDir } = shared.server();
  const stranger = userIdentity(dataDir, 'someone-without-rights');
  const client = new KubeClient({ server: admin.server, ca: admin.ca, cert: stranger.cert!, key: stranger.key! });
  try {
    await withEnforcer({ client, nodeName: 'np-node-3' }, async (enforcer, host) => {
      const pod = {
        metadata: { name: 'p', namespace: 'default', uid: 'uid-p' },
        spec: { nodeName: 'np-node-3', containers: [] },
      } as unknown as Pod;
      await enforcer.admitPod(pod, '10.244.9.9', 5_000);
      t.is(host.restores.length, 0, 'nothing was written to the host');
    });
  } finally {
    client.close();
  }
});
