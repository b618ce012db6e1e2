/**
 * The judgement of `bosun check-config`: host facts in, one finding per thing bosun needs out, each
 * with what to do about a miss. Pure, so every branch is tested on made-up hosts.
 *
 * "required" findings fail the check (exit 1, install.sh stops): without them containers do not start,
 * pods get no network or Services do not route. "optional" ones only matter for a mode the user may
 * pick (IPVS, VXLAN, nftables, ipsets). The kernel options are the ones Docker's and k3s'
 * check-config scripts list for the same parts, narrowed to what bosun's runtime and proxy use.
 */
import type { KernelConfig } from './kernel-config.ts';
import type { HostInventory } from './host-inventory.ts';

export type Need = 'required' | 'optional';
export type Verdict = 'ok' | 'missing' | 'warning' | 'unknown';

export interface Finding {
  area: 'kernel' | 'cgroups' | 'system' | 'runtime' | 'network' | 'ports';
  name: string;
  need: Need;
  verdict: Verdict;
  /** What was seen: "built in", "module, loaded", "1.6.20" ... */
  detail: string;
  /** One line saying how to fix a miss; absent when nothing is to be done. */
  fix?: string | undefined;
}

interface KernelFeature {
  name: string;
  /** Every option must be on; the module (if any) is what `modprobe` loads for the first one. */
  options: readonly string[];
  module?: string;
  need: Need;
  /** For optional features: what uses it. */
  usedBy?: string;
  /** A filesystem that /proc/filesystems lists once the feature is in (overlay). */
  filesystem?: string;
}

const iptablesCommon = [
  'CONFIG_NETFILTER_XTABLES',
  'CONFIG_NF_CONNTRACK',
  'CONFIG_NF_NAT',
  'CONFIG_NETFILTER_XT_MATCH_CONNTRACK',
  'CONFIG_NETFILTER_XT_MATCH_COMMENT',
  'CONFIG_NETFILTER_XT_MATCH_MULTIPORT',
  'CONFIG_NETFILTER_XT_MATCH_STATISTIC',
  'CONFIG_NETFILTER_XT_MARK',
];

function kernelFeatures(iptablesBackend: 'nf_tables' | 'legacy'): KernelFeature[] {
  return [
    {
      name: 'namespaces',
      options: ['CONFIG_NAMESPACES', 'CONFIG_NET_NS', 'CONFIG_PID_NS', 'CONFIG_IPC_NS', 'CONFIG_UTS_NS'],
      need: 'required',
    },
    {
      name: 'cgroups',
      options: [
        'CONFIG_CGROUPS',
        'CONFIG_CGROUP_CPUACCT',
        'CONFIG_CGROUP_DEVICE',
        'CONFIG_CGROUP_FREEZER',
        'CONFIG_CGROUP_SCHED',
        'CONFIG_CPUSETS',
        'CONFIG_MEMCG',
        'CONFIG_CGROUP_PIDS',
      ],
      need: 'required',
    },
    { name: 'seccomp', options: ['CONFIG_SECCOMP'], need: 'required' },
    {
      name: 'overlay filesystem',
      options: ['CONFIG_OVERLAY_FS'],
      module: 'overlay',
      filesystem: 'overlay',
      need: 'required',
    },
    { name: 'bridge', options: ['CONFIG_BRIDGE'], module: 'bridge', need: 'required' },
    { name: 'br_netfilter', options: ['CONFIG_BRIDGE_NETFILTER'], module: 'br_netfilter', need: 'required' },
    { name: 'veth', options: ['CONFIG_VETH'], module: 'veth', need: 'required' },
    {
      name: `iptables (${iptablesBackend})`,
      options:
        iptablesBackend === 'nf_tables'
          ? ['CONFIG_NF_TABLES', 'CONFIG_NFT_COMPAT', 'CONFIG_NFT_NAT', 'CONFIG_NFT_CT', ...iptablesCommon]
          : ['CONFIG_IP_NF_IPTABLES', 'CONFIG_IP_NF_NAT', ...iptablesCommon],
      module: iptablesBackend === 'nf_tables' ? 'nf_tables' : 'ip_tables',
      need: 'required',
    },
    {
      name: 'masquerade',
      options: ['CONFIG_NETFILTER_XT_TARGET_MASQUERADE'],
      module: 'xt_MASQUERADE',
      need: 'required',
    },
    { name: 'vxlan', options: ['CONFIG_VXLAN'], module: 'vxlan', need: 'optional', usedBy: 'the vxlan pod network' },
    {
      name: 'ip_vs',
      options: ['CONFIG_IP_VS', 'CONFIG_IP_VS_RR'],
      module: 'ip_vs',
      need: 'optional',
      usedBy: '--proxy-mode ipvs',
    },
    {
      name: 'ip_set',
      options: ['CONFIG_IP_SET', 'CONFIG_IP_SET_HASH_IP', 'CONFIG_NETFILTER_XT_SET'],
      module: 'ip_set',
      need: 'optional',
      usedBy: '--proxy-mode ipvs and NetworkPolicy address sets',
    },
    {
      name: 'nf_tables',
      options: ['CONFIG_NF_TABLES'],
      module: 'nf_tables',
      need: 'optional',
      usedBy: 'nftables rules and --proxy-mode nftables',
    },
  ];
}

/** The state of one feature from the kernel's build config, or from what is loaded when there is none. */
function judgeKernelFeature(feature: KernelFeature, facts: HostInventory): Finding {
  const base = { area: 'kernel' as const, name: feature.name, need: feature.need };
  const usedBy = feature.usedBy === undefined ? '' : ` (needed for ${feature.usedBy})`;
  const config: KernelConfig | undefined = facts.kernelConfig?.config;
  const loaded = feature.module !== undefined && facts.loadedModules.has(feature.module);
  const inFilesystems = feature.filesystem !== undefined && facts.filesystems.has(feature.filesystem);
  if (config === undefined) {
    if (loaded || inFilesystems) return { ...base, verdict: 'ok', detail: 'loaded' };
    return {
      ...base,
      verdict: 'unknown',
      detail: 'this kernel publishes no build config (/proc/config.gz, /boot/config-<release>)',
      fix: `check that the kernel has ${feature.options.join(', ')}${usedBy}`,
    };
  }
  const absent = feature.options.filter((option) => config.get(option) === undefined);
  if (absent.length > 0) {
    return {
      ...base,
      verdict: feature.need === 'required' ? 'missing' : 'warning',
      detail: `not in this kernel: ${absent.join(', ')}`,
      fix: `use a kernel built with ${absent.join(', ')}${usedBy} (Debian's stock kernel has them)`,
    };
  }
  const modular = feature.options.some((option) => config.get(option) === 'm');
  if (!modular) return { ...base, verdict: 'ok', detail: 'built in' };
  if (loaded || inFilesystems) return { ...base, verdict: 'ok', detail: 'module, loaded' };
  // a module that is not loaded yet is fine: the agent (or systemd's modules-load.d) loads it
  return {
    ...base,
    verdict: 'ok',
    detail: 'module, not loaded yet',
    fix: feature.module === undefined ? undefined : `modprobe ${feature.module} (bosun loads it at start)`,
  };
}

const cgroupControllers = {
  1: ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'devices', 'freezer'],
  2: ['cpu', 'cpuset', 'memory', 'pids', 'io'],
};

function judgeCgroups(facts: HostInventory): Finding[] {
  const wanted = cgroupControllers[facts.cgroup.version];
  return wanted.map((controller) => {
    const present = facts.cgroup.controllers.has(controller);
    const fix =
      controller === 'memory'
        ? 'add cgroup_enable=memory cgroup_memory=1 to the kernel command line and reboot'
        : `enable the ${controller} cgroup controller (kernel command line or the kernel's build)`;
    return {
      area: 'cgroups' as const,
      name: `${controller} controller (cgroup v${facts.cgroup.version})`,
      need: 'required' as const,
      verdict: present ? ('ok' as const) : ('missing' as const),
      detail: present ? 'enabled' : 'not enabled',
      fix: present ? undefined : fix,
    };
  });
}

/** `major.minor.patch` found anywhere in a version line. */
export function semver(line: string | undefined): [number, number, number] | undefined {
  const match = /(\d+)\.(\d+)\.(\d+)/.exec(line ?? '');
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3])];
}

function atLeast(version: [number, number, number], minimum: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (version[i] !== minimum[i]) return version[i]! > minimum[i]!;
  return true;
}

function judgeCommand(
  name: string,
  line: string | undefined,
  minimum: [number, number, number],
  install: string,
): Finding {
  const base = { area: 'runtime' as const, name, need: 'required' as const };
  if (line === undefined) return { ...base, verdict: 'missing', detail: 'not found', fix: install };
  const version = semver(line);
  if (version === undefined) return { ...base, verdict: 'unknown', detail: `unreadable version: ${line}` };
  if (!atLeast(version, minimum)) {
    return {
      ...base,
      verdict: 'missing',
      detail: `${version.join('.')} is older than ${minimum.join('.')}`,
      fix: install,
    };
  }
  return { ...base, verdict: 'ok', detail: version.join('.') };
}

export const neededCniPlugins = ['bridge', 'host-local', 'loopback', 'portmap'];

function judgeCni(facts: HostInventory): Finding {
  const base = { area: 'network' as const, name: 'CNI plugins', need: 'required' as const };
  for (const [folder, names] of facts.cniPlugins) {
    if (neededCniPlugins.every((plugin) => names.has(plugin))) {
      return { ...base, verdict: 'ok', detail: `${neededCniPlugins.join(', ')} in ${folder}` };
    }
  }
  return {
    ...base,
    verdict: 'missing',
    detail: `no folder holds all of ${neededCniPlugins.join(', ')}`,
    fix: 'apt-get install containernetworking-plugins (install.sh does)',
  };
}

/** The ports bosun's daemons listen on, and which daemon. */
export const bosunPorts: ReadonlyArray<{ port: number; owner: string }> = [
  { port: 6443, owner: 'the API server' },
  { port: 10250, owner: "the agent's kubelet port" },
  { port: 10256, owner: "the agent's proxy health port" },
];

function judgePorts(facts: HostInventory): Finding[] {
  return bosunPorts.map(({ port, owner }) => {
    const holders = facts.listeningPorts.get(port);
    const base = { area: 'ports' as const, name: `${port} (${owner})`, need: 'optional' as const };
    if (holders === undefined) return { ...base, verdict: 'ok', detail: 'free' };
    const names = holders.length === 0 ? ['a process this user cannot see'] : holders;
    if (names.every((name) => /\bbosun\b/.test(name))) return { ...base, verdict: 'ok', detail: 'used by bosun' };
    return {
      ...base,
      verdict: 'warning',
      detail: `in use by ${names.join('; ')}`,
      fix: `stop what holds port ${port}, or give bosun another port`,
    };
  });
}

/** Which iptables the `iptables` command drives: nf_tables for Debian's default, else legacy. */
export function iptablesBackend(versionLine: string | undefined): 'nf_tables' | 'legacy' {
  return versionLine?.includes('nf_tables') ? 'nf_tables' : 'legacy';
}

/** Every finding for this host, in the order they are printed. */
export function checkHost(facts: HostInventory): Finding[] {
  const findings: Finding[] = kernelFeatures(iptablesBackend(facts.iptablesVersion)).map((feature) =>
    judgeKernelFeature(feature, facts),
  );
  findings.push(...judgeCgroups(facts));
  findings.push({
    area: 'system',
    name: 'swap',
    need: 'optional',
    verdict: facts.swapKiB > 0 ? 'warning' : 'ok',
    detail: facts.swapKiB > 0 ? `${Math.round(facts.swapKiB / 1024)} MiB of swap is on` : 'off',
    fix:
      facts.swapKiB > 0
        ? 'swapoff -a and remove swap from /etc/fstab: pods memory limits assume no swap, as the kubelet does by default'
        : undefined,
  });
  findings.push({
    area: 'system',
    name: 'iptables command',
    need: 'required',
    verdict: facts.iptablesVersion === undefined ? 'missing' : 'ok',
    detail: facts.iptablesVersion ?? 'not found',
    fix: facts.iptablesVersion === undefined ? 'apt-get install iptables (install.sh does)' : undefined,
  });
  findings.push(
    judgeCommand('containerd', facts.containerdVersion, [1, 6, 0], 'apt-get install containerd (install.sh does)'),
    judgeCommand('runc', facts.runcVersion, [1, 1, 0], 'apt-get install runc (install.sh does)'),
    judgeCni(facts),
    ...judgePorts(facts),
  );
  return findings;
}

/** Whether the host can run bosun: no required finding is missing. */
export function hostPasses(findings: readonly Finding[]): boolean {
  return findings.every((finding) => finding.need !== 'required' || finding.verdict !== 'missing');
}
