import test from 'ava';
import { judge, type HostFacts } from '../../../host/join/preflight.ts';

const healthy: HostFacts = {
  uid: 0,
  runtimeProblem: undefined,
  runtimeEndpoint: 'unix:///run/containerd/containerd.sock',
  iptablesRules: { legacy: 0, nft: 12 },
  swapDevices: 0,
  busyPorts: [],
  clockOffsetMs: 1_500,
  kubeconfigExists: false,
  kubeconfigPath: '/etc/bosun/agent.kubeconfig',
};

test('a healthy host passes every check', (t) => {
  t.deepEqual(judge(healthy), []);
});

const broken: [string, Partial<HostFacts>, string, RegExp][] = [
  ['not root', { uid: 1000 }, 'root', /must run as root/],
  ['already joined', { kubeconfigExists: true }, 'joined', /already joined .* run bosun reset first/],
  [
    'runtime down',
    { runtimeProblem: 'containerd is not reachable' },
    'runtime',
    /containerd is not usable at unix:\/\/\/run\/containerd\/containerd\.sock/,
  ],
  [
    'both iptables backends hold rules',
    { iptablesRules: { legacy: 3, nft: 12 } },
    'iptables',
    /both the legacy \(3\) and the nf_tables \(12\)/,
  ],
  ['swap on', { swapDevices: 1 }, 'swap', /swapoff -a/],
  ['ports taken', { busyPorts: [10250] }, 'ports', /10250 are in use/],
  ['clock 10 min behind', { clockOffsetMs: 600_000 }, 'clock', /600 s behind the server's/],
  ['clock 10 min ahead', { clockOffsetMs: -600_000 }, 'clock', /600 s ahead of the server's/],
];

for (const [title, change, check, message] of broken) {
  test(`preflight: ${title}`, (t) => {
    const failures = judge({ ...healthy, ...change });
    t.deepEqual(
      failures.map((f) => f.check),
      [check],
    );
    t.regex(failures[0]!.message, message);
    t.deepEqual(
      judge({ ...healthy, ...change }, new Set([check])),
      [],
      `--ignore-preflight-errors=${check} lets it pass`,
    );
  });
}

test('a clock 4 minutes off is tolerated (certificates are backdated 5 minutes)', (t) => {
  t.deepEqual(judge({ ...healthy, clockOffsetMs: 240_000 }), []);
});
