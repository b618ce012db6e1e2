/**
 * `bosun check-config`: the judgement on made-up hosts (every kind of miss and its fix), the readers
 * of /proc formats, and the real command on this machine (read-only: it only looks).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkHost, hostPasses, iptablesBackend, type Finding } from '../../host/check-config/checks.ts';
import { listeningSockets, swapKiB, type HostInventory } from '../../host/check-config/host-inventory.ts';
import { parseKernelConfig } from '../../host/check-config/kernel-config.ts';
import { renderFindings } from '../../host/check-config/render.ts';
import { run } from '../helpers/run.ts';

const everyOption = [
  'NAMESPACES NET_NS PID_NS IPC_NS UTS_NS CGROUPS CGROUP_CPUACCT CGROUP_DEVICE CGROUP_FREEZER CGROUP_SCHED CPUSETS',
  'MEMCG CGROUP_PIDS SECCOMP OVERLAY_FS BRIDGE BRIDGE_NETFILTER VETH NF_TABLES NFT_COMPAT NFT_NAT NFT_CT',
  'NETFILTER_XTABLES NF_CONNTRACK NF_NAT NETFILTER_XT_MATCH_CONNTRACK NETFILTER_XT_MATCH_COMMENT',
  'NETFILTER_XT_MATCH_MULTIPORT NETFILTER_XT_MATCH_STATISTIC NETFILTER_XT_MARK NETFILTER_XT_TARGET_MASQUERADE',
  'VXLAN IP_VS IP_VS_RR IP_SET IP_SET_HASH_IP NETFILTER_XT_SET IP_NF_IPTABLES IP_NF_NAT',
]
  .join(' ')
  .split(' ');

/** A host with everything bosun wants; each test takes one thing away. */
function goodHost(change: (config: Map<string, string>) => Partial<HostInventory> | void = () => {}): HostInventory {
  const config = new Map(everyOption.map((option) => [`CONFIG_${option}`, 'y']));
  const overrides = change(config) ?? {};
  return {
    kernelRelease: '6.1.0-test',
    kernelConfig: { config, source: '/proc/config.gz' },
    loadedModules: new Set(),
    filesystems: new Set(['ext4', 'overlay']),
    cgroup: { version: 2, controllers: new Set(['cpu', 'cpuset', 'memory', 'pids', 'io']) },
    swapKiB: 0,
    iptablesVersion: 'iptables v1.8.9 (nf_tables)',
    containerdVersion: 'containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3',
    runcVersion: 'runc version 1.1.5+ds1',
    cniPlugins: new Map([['/usr/lib/cni', new Set(['bridge', 'host-local', 'loopback', 'portmap', 'dhcp'])]]),
    listeningPorts: new Map(),
    ...overrides,
  };
}

const named = (findings: Finding[], name: string) => {
  const finding = findings.find((f) => f.name === name);
  if (finding === undefined) throw new Error(`no finding named ${name}: ${findings.map((f) => f.name).join(', ')}`);
  return finding;
};

test('a host with everything passes, every finding ok', (t) => {
  const findings = checkHost(goodHost());
  t.true(hostPasses(findings));
  t.deepEqual(
    findings.filter((f) => f.verdict !== 'ok').map((f) => f.name),
    [],
  );
});

test('a required kernel option that is not set fails the host and names the option', (t) => {
  const findings = checkHost(goodHost((config) => void config.delete('CONFIG_BRIDGE_NETFILTER')));
  const finding = named(findings, 'br_netfilter');
  t.is(finding.verdict, 'missing');
  t.regex(finding.detail, /CONFIG_BRIDGE_NETFILTER/);
  t.regex(finding.fix ?? '', /CONFIG_BRIDGE_NETFILTER/);
  t.false(hostPasses(findings));
});

test('an optional feature that is missing warns and the host still passes', (t) => {
  const findings = checkHost(goodHost((config) => void config.delete('CONFIG_IP_VS')));
  const finding = named(findings, 'ip_vs');
  t.is(finding.verdict, 'warning');
  t.regex(finding.fix ?? '', /--proxy-mode ipvs/);
  t.true(hostPasses(findings));
});

test('a module that is built but not loaded is fine, with the modprobe to load it', (t) => {
  const modular = checkHost(goodHost((config) => void config.set('CONFIG_OVERLAY_FS', 'm')));
  t.is(named(modular, 'overlay filesystem').detail, 'module, loaded');
  const unloaded = checkHost(
    goodHost((config) => {
      config.set('CONFIG_VXLAN', 'm');
    }),
  );
  const vxlan = named(unloaded, 'vxlan');
  t.is(vxlan.verdict, 'ok');
  t.is(vxlan.detail, 'module, not loaded yet');
  t.regex(vxlan.fix ?? '', /^modprobe vxlan/);
  const loaded = checkHost(
    goodHost((config) => {
      config.set('CONFIG_VXLAN', 'm');
      return { loadedModules: new Set(['vxlan']) };
    }),
  );
  t.is(named(loaded, 'vxlan').detail, 'module, loaded');
});

test('without a published kernel config, what is loaded counts and the rest is unknown, not missing', (t) => {
  const findings = checkHost(goodHost(() => ({ kernelConfig: undefined, loadedModules: new Set(['bridge']) })));
  t.is(named(findings, 'bridge').verdict, 'ok');
  t.is(named(findings, 'overlay filesystem').verdict, 'ok', 'overlay is listed in /proc/filesystems');
  t.is(named(findings, 'veth').verdict, 'unknown');
  t.true(hostPasses(findings));
});

test('the iptables backend decides which kernel side is required', (t) => {
  t.is(iptablesBackend('iptables v1.8.9 (nf_tables)'), 'nf_tables');
  t.is(iptablesBackend('iptables v1.8.7 (legacy)'), 'legacy');
  const legacy = checkHost(
    goodHost((config) => {
      config.delete('CONFIG_NF_TABLES');
      return { iptablesVersion: 'iptables v1.8.7 (legacy)' };
    }),
  );
  t.is(named(legacy, 'iptables (legacy)').verdict, 'ok');
  t.is(named(legacy, 'nf_tables').verdict, 'warning');
  const nft = checkHost(goodHost((config) => void config.delete('CONFIG_NFT_COMPAT')));
  t.is(named(nft, 'iptables (nf_tables)').verdict, 'missing');
});

test('a missing cgroup controller fails with the kernel command line that enables it', (t) => {
  const findings = checkHost(goodHost(() => ({ cgroup: { version: 1, controllers: new Set(['cpu', 'cpuacct']) } })));
  const memory = named(findings, 'memory controller (cgroup v1)');
  t.is(memory.verdict, 'missing');
  t.regex(memory.fix ?? '', /cgroup_enable=memory/);
  t.false(hostPasses(findings));
});

test('runtime: absent or too old containerd and runc fail; unreadable versions are unknown', (t) => {
  const absent = checkHost(goodHost(() => ({ containerdVersion: undefined })));
  t.is(named(absent, 'containerd').verdict, 'missing');
  t.regex(named(absent, 'containerd').fix ?? '', /apt-get install containerd/);
  const old = checkHost(goodHost(() => ({ containerdVersion: 'containerd 1.5.9' })));
  t.regex(named(old, 'containerd').detail, /1\.5\.9 is older than 1\.6\.0/);
  t.false(hostPasses(old));
  const odd = checkHost(goodHost(() => ({ runcVersion: 'runc version unknown' })));
  t.is(named(odd, 'runc').verdict, 'unknown');
  t.true(hostPasses(odd));
});

test('CNI plugins must all be in one folder', (t) => {
  const split = checkHost(
    goodHost(() => ({
      cniPlugins: new Map([
        ['/opt/cni/bin', new Set(['bridge', 'host-local'])],
        ['/usr/lib/cni', new Set(['loopback', 'portmap'])],
      ]),
    })),
  );
  t.is(named(split, 'CNI plugins').verdict, 'missing');
  t.regex(named(split, 'CNI plugins').fix ?? '', /containernetworking-plugins/);
});

test("swap and a port held by another program warn; bosun's own daemons on its ports do not", (t) => {
  const findings = checkHost(
    goodHost(() => ({
      swapKiB: 2048 * 1024,
      listeningPorts: new Map([
        [6443, ['/usr/local/bin/bosun server --data-dir /var/lib/bosun/server']],
        [10250, ['nginx: master process']],
      ]),
    })),
  );
  t.is(named(findings, 'swap').verdict, 'warning');
  t.regex(named(findings, 'swap').detail, /2048 MiB/);
  t.is(named(findings, '6443 (the API server)').detail, 'used by bosun');
  const kubelet = named(findings, "10250 (the agent's kubelet port)");
  t.is(kubelet.verdict, 'warning');
  t.regex(kubelet.detail, /nginx/);
  t.true(hostPasses(findings));
});

test('the text report groups by area, marks misses and ends with the verdict', (t) => {
  const text = renderFindings(checkHost(goodHost((config) => void config.delete('CONFIG_VETH'))), 'kernel 6.1.0-test');
  t.regex(text, /^kernel:$/m);
  t.regex(text, /veth\s+MISSING: not in this kernel: CONFIG_VETH/);
  t.regex(text, /fix: use a kernel built with CONFIG_VETH/);
  t.regex(text, /This host cannot run bosun yet: 1 required item missing/);
});

test('readers: kernel config lines, /proc/swaps and listening sockets in /proc/net/tcp', (t) => {
  const config = parseKernelConfig('# CONFIG_IP_VS is not set\nCONFIG_VXLAN=m\nCONFIG_LOCALVERSION="-x"\n');
  t.deepEqual(
    [...config],
    [
      ['CONFIG_VXLAN', 'm'],
      ['CONFIG_LOCALVERSION', '-x'],
    ],
  );
  t.is(
    swapKiB('Filename Type Size Used Priority\n/swapfile file 1048572 0 -2\n/dev/vdb partition 1024 0 -3\n'),
    1049596,
  );
  t.is(swapKiB('Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n'), 0);
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000:192B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0',
    '   1: 0100007F:2AF8 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0',
  ].join('\n');
  t.deepEqual([...listeningSockets(tcp)], [['4242', 6443]]);
});

test('bosun check-config on this machine reads the real host and agrees with /proc', async (t) => {
  const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
  const result = await run([bosun, 'check-config', '-o', 'json']);
  const report = JSON.parse(result.stdout) as { kernel: string; passes: boolean; findings: Finding[] };
  t.is(result.code, report.passes ? 0 : 1, result.stderr);
  t.true(report.findings.length > 20);
  const overlay = report.findings.find((f) => f.name === 'overlay filesystem')!;
  const overlayListed = /\boverlay\b/.test(readFileSync('/proc/filesystems', 'utf8'));
  if (overlayListed) t.is(overlay.verdict, 'ok', 'overlay is in /proc/filesystems, so it cannot be missing');
  const swapOn = readFileSync('/proc/swaps', 'utf8').trim().split('\n').length > 1;
  t.is(report.findings.find((f) => f.name === 'swap')!.verdict, swapOn ? 'warning' : 'ok');
  const text = await run([bosun, 'check-config']);
  t.regex(text.stdout, /^This host (can|cannot) run bosun/m);
  t.is(text.stderr, '');
});
