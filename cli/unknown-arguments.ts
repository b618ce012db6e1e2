/**
 * What `bosun` says about a word on its command line that the command does not take, in one line
 * (exit code 2), as upstream's components refuse unknown flags instead of ignoring them:
 *
 *   bosun server: unknown flag --bogus-flag (did you mean --bind-address?)
 *   bosun agent: flag --feature-gates of the kubelet is not supported by bosun
 *   bosun token list: unknown argument 'extra'
 *
 * A typo such as `--node-monitor-grace-perod=10s` would otherwise do nothing at all.
 */

/**
 * Flags that users carry over from the kubelet, kube-apiserver, kube-proxy or kubeadm and that
 * bosun has no equivalent for: they are named as such rather than as mere typos.
 */
const upstreamFlags: Readonly<Record<string, string>> = {
  // kubelet
  'feature-gates': 'upstream components',
  config: 'the kubelet',
  'bootstrap-kubeconfig': 'the kubelet',
  'cgroup-driver': 'the kubelet',
  'cgroups-per-qos': 'the kubelet',
  'container-runtime': 'the kubelet',
  'pod-infra-container-image': 'the kubelet',
  'fail-swap-on': 'the kubelet',
  'rotate-certificates': 'the kubelet',
  'rotate-server-certificates': 'the kubelet',
  'cert-dir': 'the kubelet',
  'read-only-port': 'the kubelet',
  'anonymous-auth': 'the kubelet',
  'authorization-mode': 'the kubelet and kube-apiserver',
  'client-ca-file': 'the kubelet and kube-apiserver',
  'eviction-hard': 'the kubelet',
  'eviction-soft': 'the kubelet',
  'kube-reserved': 'the kubelet',
  'enforce-node-allocatable': 'the kubelet',
  'image-gc-high-threshold': 'the kubelet',
  'image-gc-low-threshold': 'the kubelet',
  'cpu-manager-policy': 'the kubelet',
  'topology-manager-policy': 'the kubelet',
  'resolv-conf': 'the kubelet',
  'node-ip': 'the kubelet',
  'hostname-override': 'the kubelet and kube-proxy',
  'provider-id': 'the kubelet',
  'cloud-provider': 'upstream components',
  v: 'upstream components',
  logtostderr: 'upstream components',
  vmodule: 'upstream components',
  // kube-apiserver
  'etcd-servers': 'kube-apiserver',
  'etcd-cafile': 'kube-apiserver',
  'etcd-certfile': 'kube-apiserver',
  'etcd-keyfile': 'kube-apiserver',
  'enable-admission-plugins': 'kube-apiserver',
  'disable-admission-plugins': 'kube-apiserver',
  'admission-control-config-file': 'kube-apiserver',
  'service-account-issuer': 'kube-apiserver',
  'service-account-key-file': 'kube-apiserver',
  'service-account-signing-key-file': 'kube-apiserver',
  'tls-cert-file': 'kube-apiserver',
  'tls-private-key-file': 'kube-apiserver',
  'audit-log-path': 'kube-apiserver',
  'audit-policy-file': 'kube-apiserver',
  'runtime-config': 'kube-apiserver',
  'encryption-provider-config': 'kube-apiserver',
  'oidc-issuer-url': 'kube-apiserver',
  'token-auth-file': 'kube-apiserver',
  'requestheader-client-ca-file': 'kube-apiserver',
  'service-node-port-range': 'kube-apiserver',
  'allow-privileged': 'kube-apiserver',
  'insecure-port': 'kube-apiserver',
  // kube-proxy
  'proxy-mode': 'kube-proxy',
  'ipvs-scheduler': 'kube-proxy',
  'masquerade-all': 'kube-proxy',
  'conntrack-max-per-core': 'kube-proxy',
  'metrics-bind-address': 'kube-proxy',
  'healthz-bind-address': 'kube-proxy',
  'nodeport-addresses': 'kube-proxy',
  // kubeadm
  'control-plane-endpoint': 'kubeadm',
  'pod-network-cidr': 'kubeadm',
  'service-cidr': 'kubeadm',
  'upload-certs': 'kubeadm',
  'cri-socket': 'kubeadm',
  'apiserver-advertise-address': 'kubeadm',
  'apiserver-cert-extra-sans': 'kubeadm',
  'skip-phases': 'kubeadm',
  'certificate-key': 'kubeadm',
};

/** Levenshtein distance: single-character inserts, deletes and substitutions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The known flag nearest to `name` (the first of equals), if the command has any. */
export function nearestFlag(name: string, known: readonly string[]): string | undefined {
  let best: { flag: string; distance: number } | undefined;
  for (const flag of known) {
    const distance = editDistance(name, flag);
    if (best === undefined || distance < best.distance) best = { flag, distance };
  }
  return best?.flag;
}

/** How a word was written on the command line: as a flag (`--x`, `--x=1`, `-x`) or a plain word. */
function writtenAsFlag(word: string, argv: readonly string[]): string | undefined {
  for (const arg of argv) {
    if (arg === '--') break;
    const match = /^--?(?:no-)?([^=]+)/.exec(arg);
    if (match !== null && (match[1] === word || arg.slice(arg.startsWith('--') ? 2 : 1).split('=')[0] === word))
      return arg.split('=')[0];
  }
  return undefined;
}

/**
 * The one line for the first unknown word of a command line.
 * `unknown`: the words the parser did not recognise (it may name a flag in two spellings);
 * `commandPath`: e.g. `bosun token list`; `known`: the command's flags, without dashes.
 */
export function unknownArgumentLine(
  unknown: readonly string[],
  argv: readonly string[],
  commandPath: string,
  known: readonly string[],
): string {
  for (const word of unknown) {
    const written = writtenAsFlag(word, argv);
    if (written === undefined) continue;
    const name = written.replace(/^--?(no-)?/, '');
    const component = upstreamFlags[name];
    if (component !== undefined) return `${commandPath}: flag ${written} of ${component} is not supported by bosun`;
    const suggestion = nearestFlag(
      name,
      known.filter((flag) => flag !== 'help' && flag !== 'version'),
    );
    return `${commandPath}: unknown flag ${written}${suggestion !== undefined ? ` (did you mean --${suggestion}?)` : ''}`;
  }
  return `${commandPath}: unknown argument '${unknown[0] ?? ''}'`;
}

/** The words in yargs' "Unknown argument(s): a, b" message; undefined for other messages. */
export function unknownWordsOf(message: string): string[] | undefined {
  const match = /^Unknown arguments?: (.*)$/.exec(message);
  return match === null ? undefined : match[1]!.split(', ').filter((w) => w !== '');
}

/**
 * Long flags on the command line that the command does not know, for when the parser stopped at
 * another mistake first (a missing argument): the unknown flag is the mistake to name. Words
 * after `--` belong to a command being run, not to bosun.
 */
export function unknownLongFlags(argv: readonly string[], known: readonly string[]): string[] {
  const flags: string[] = [];
  for (const arg of argv) {
    if (arg === '--') break;
    const match = /^--(?:no-)?([^=]+)/.exec(arg);
    const name = match?.[1];
    if (name !== undefined && !known.includes(name) && !known.includes(arg.slice(2).split('=')[0]!)) flags.push(name);
  }
  return flags;
}
