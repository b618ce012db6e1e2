/**
 * The Pod Security Standards, check by check: for each level a spec that passes and specs that
 * fail, with the reason and detail upstream words (the cases follow upstream's own fixtures for
 * pod-security-admission, rewritten here). A pod that passes at one level is also checked at the
 * level below it, and everything passes at privileged.
 */
import test from 'ava';
import { evaluatePod, violationDetails } from '../../../../controlplane/admission/pod-security/policy.ts';
import type { LevelVersion } from '../../../../controlplane/admission/pod-security/level.ts';
import type { PodMetaView, PodSpecView } from '../../../../controlplane/admission/pod-security/pod-view.ts';

const baseline: LevelVersion = { level: 'baseline', version: 'latest' };
const restricted: LevelVersion = { level: 'restricted', version: 'latest' };
const privileged: LevelVersion = { level: 'privileged', version: 'latest' };

/** A pod that meets restricted: every check of this file starts from it and changes one thing. */
function restrictedPod(): PodSpecView {
  const hardened = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
  return {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    initContainers: [{ name: 'init', image: 'busybox', securityContext: { ...hardened } }],
    containers: [{ name: 'app', image: 'busybox', securityContext: { ...hardened } }],
  };
}

/** A pod as `kubectl run` makes it: nothing set, allowed by baseline. */
function plainPod(): PodSpecView {
  return { containers: [{ name: 'app', image: 'busybox' }] };
}

function details(lv: LevelVersion, spec: PodSpecView, meta: PodMetaView = {}): string {
  return violationDetails(evaluatePod(lv, meta, spec));
}

interface Case {
  readonly title: string;
  readonly spec: PodSpecView;
  readonly meta?: PodMetaView;
  /** What the level refuses, as upstream words it. */
  readonly refused: string;
}

const baselineCases: Case[] = [
  { title: 'hostNetwork', spec: { ...plainPod(), hostNetwork: true }, refused: 'host namespaces (hostNetwork=true)' },
  {
    title: 'hostPID and hostIPC',
    spec: { ...plainPod(), hostPID: true, hostIPC: true },
    refused: 'host namespaces (hostIPC=true, hostPID=true)',
  },
  {
    title: 'a privileged container',
    spec: {
      containers: [
        { name: 'a', securityContext: { privileged: true } },
        { name: 'b', securityContext: { privileged: true } },
      ],
    },
    refused: 'privileged (containers "a", "b" must not set securityContext.privileged=true)',
  },
  {
    title: 'capabilities beyond the default set',
    spec: {
      containers: [{ name: 'a', securityContext: { capabilities: { add: ['NET_RAW', 'SYS_ADMIN', 'CHOWN'] } } }],
    },
    refused:
      'non-default capabilities (container "a" must not include "NET_RAW", "SYS_ADMIN" in securityContext.capabilities.add)',
  },
  {
    title: 'a hostPath volume',
    spec: {
      ...plainPod(),
      volumes: [
        { name: 'h', hostPath: { path: '/var/log' } },
        { name: 'e', emptyDir: {} },
      ],
    },
    refused: 'hostPath volumes (volume "h")',
  },
  {
    title: 'host ports',
    spec: {
      containers: [
        {
          name: 'a',
          ports: [
            { containerPort: 80, hostPort: 8080 },
            { containerPort: 81, hostPort: 443 },
          ],
        },
        { name: 'b', ports: [{ containerPort: 80 }] },
      ],
    },
    refused: 'hostPort (container "a" uses hostPorts 443, 8080)',
  },
  {
    title: 'an unconfined AppArmor annotation',
    spec: plainPod(),
    meta: { annotations: { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' } },
    refused: 'forbidden AppArmor profile (container.apparmor.security.beta.kubernetes.io/app="unconfined")',
  },
  {
    title: 'an unconfined AppArmor field',
    spec: { containers: [{ name: 'a', securityContext: { appArmorProfile: { type: 'Unconfined' } } }] },
    refused: 'forbidden AppArmor profile (Unconfined)',
  },
  {
    title: 'a custom SELinux type and user',
    spec: { securityContext: { seLinuxOptions: { type: 'spc_t', user: 'root' } }, containers: [{ name: 'a' }] },
    refused: 'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)',
  },
  {
    title: 'an unmasked /proc',
    spec: { containers: [{ name: 'a', securityContext: { procMount: 'Unmasked' } }] },
    refused: 'procMount (container "a" must not set securityContext.procMount to "Unmasked")',
  },
  {
    title: 'an Unconfined seccomp profile',
    spec: {
      securityContext: { seccompProfile: { type: 'Unconfined' } },
      containers: [{ name: 'a', securityContext: { seccompProfile: { type: 'Unconfined' } } }],
    },
    refused: 'seccompProfile (pod and container "a" must not set securityContext.seccompProfile.type to "Unconfined")',
  },
  {
    title: 'an unsafe sysctl',
    spec: {
      securityContext: {
        sysctls: [
          { name: 'kernel.msgmax', value: '1' },
          { name: 'net.ipv4.tcp_syncookies', value: '1' },
          { name: 'net.core.somaxconn', value: '1' },
        ],
      },
      containers: [{ name: 'a' }],
    },
    refused: 'forbidden sysctls (kernel.msgmax, net.core.somaxconn)',
  },
  {
    title: 'a Windows HostProcess container',
    spec: {
      securityContext: { windowsOptions: { hostProcess: true } },
      containers: [{ name: 'a', securityContext: { windowsOptions: { hostProcess: true } } }],
    },
    refused: 'hostProcess (pod and container "a" must not set securityContext.windowsOptions.hostProcess=true)',
  },
];

test('baseline: a pod that sets nothing, the default capabilities, safe sysctls, RuntimeDefault seccomp and container SELinux types passes', (t) => {
  t.deepEqual(evaluatePod(baseline, {}, plainPod()), []);
  const allowedSpec: PodSpecView = {
    securityContext: {
      sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '1024 65535' }],
      seccompProfile: { type: 'RuntimeDefault' },
      seLinuxOptions: { type: 'container_t', level: 's0:c1' },
    },
    containers: [
      {
        name: 'a',
        ports: [{ containerPort: 80, hostPort: 0 }],
        securityContext: {
          capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'] },
          privileged: false,
          procMount: 'Default',
          seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' },
          appArmorProfile: { type: 'RuntimeDefault' },
        },
      },
    ],
    volumes: [{ name: 'c', configMap: { name: 'x' } }],
  };
  t.deepEqual(
    evaluatePod(
      baseline,
      { annotations: { 'container.apparmor.security.beta.kubernetes.io/a': 'runtime/default' } },
      allowedSpec,
    ),
    [],
  );
  t.deepEqual(evaluatePod(baseline, {}, restrictedPod()), []);
});

for (const c of baselineCases) {
  test(`baseline refuses ${c.title}; privileged allows it`, (t) => {
    t.is(details(baseline, c.spec, c.meta), c.refused);
    t.true(evaluatePod(restricted, c.meta ?? {}, c.spec).length > 0, 'restricted refuses what baseline refuses');
    t.deepEqual(evaluatePod(privileged, c.meta ?? {}, c.spec), []);
  });
}

test('baseline reports several violations in upstream order, each with its detail', (t) => {
  const debugNode: PodSpecView = {
    hostNetwork: true,
    hostPID: true,
    containers: [{ name: 'debugger', securityContext: { privileged: true } }],
    volumes: [{ name: 'host-root', hostPath: { path: '/' } }],
  };
  t.is(
    details(baseline, debugNode),
    'host namespaces (hostNetwork=true, hostPID=true), hostPath volumes (volume "host-root"), privileged (container "debugger" must not set securityContext.privileged=true)',
  );
});

const restrictedCases: Case[] = [
  {
    title: 'a container without allowPrivilegeEscalation=false',
    spec: (() => {
      const s = restrictedPod();
      delete s.containers![0]!.securityContext!.allowPrivilegeEscalation;
      return s;
    })(),
    refused:
      'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)',
  },
  {
    title: 'a container that does not drop ALL or adds more than NET_BIND_SERVICE',
    spec: (() => {
      const s = restrictedPod();
      s.containers![0]!.securityContext!.capabilities = { add: ['NET_BIND_SERVICE', 'CHOWN'] };
      return s;
    })(),
    refused:
      'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]; container "app" must not include "CHOWN" in securityContext.capabilities.add)',
  },
  {
    title: 'a hostPath or nfs volume',
    spec: {
      ...restrictedPod(),
      volumes: [
        { name: 'n', nfs: { server: 's', path: '/' } },
        { name: 'c', configMap: { name: 'x' } },
        { name: 'p', persistentVolumeClaim: { claimName: 'x' } },
      ],
    },
    refused: 'restricted volume types (volume "n" uses restricted volume type "nfs")',
  },
  {
    title: 'a pod that does not set runAsNonRoot',
    spec: { ...restrictedPod(), securityContext: { seccompProfile: { type: 'RuntimeDefault' } } },
    refused: 'runAsNonRoot != true (pod or containers "init", "app" must set securityContext.runAsNonRoot=true)',
  },
  {
    title: 'a container that sets runAsNonRoot=false',
    spec: (() => {
      const s = restrictedPod();
      s.containers![0]!.securityContext!.runAsNonRoot = false;
      return s;
    })(),
    refused: 'runAsNonRoot != true (container "app" must not set securityContext.runAsNonRoot=false)',
  },
  {
    title: 'runAsUser 0',
    spec: (() => {
      const s = restrictedPod();
      s.securityContext!.runAsUser = 0;
      s.containers![0]!.securityContext!.runAsUser = 0;
      return s;
    })(),
    refused: 'runAsUser=0 (pod and container "app" must not set runAsUser=0)',
  },
  {
    title: 'a pod without a seccomp profile',
    spec: { ...restrictedPod(), securityContext: { runAsNonRoot: true } },
    refused:
      'seccompProfile (pod or containers "init", "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  },
];

test('restricted: a hardened pod passes, with containers that set runAsNonRoot and seccomp themselves, NET_BIND_SERVICE and the allowed volume types', (t) => {
  t.deepEqual(evaluatePod(restricted, {}, restrictedPod()), []);
  const perContainer: PodSpecView = {
    containers: [
      {
        name: 'a',
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 1000,
          seccompProfile: { type: 'Localhost', localhostProfile: 'x' },
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
        },
      },
    ],
    volumes: [
      'configMap',
      'csi',
      'downwardAPI',
      'emptyDir',
      'ephemeral',
      'persistentVolumeClaim',
      'projected',
      'secret',
    ].map((type) => ({ name: type.toLowerCase(), [type]: {} })),
  };
  t.deepEqual(evaluatePod(restricted, {}, perContainer), []);
});

for (const c of restrictedCases) {
  test(`restricted refuses ${c.title}; baseline allows it`, (t) => {
    t.is(details(restricted, c.spec, c.meta), c.refused);
    t.deepEqual(evaluatePod(baseline, c.meta ?? {}, c.spec), []);
  });
}

test('restricted on a plain pod: the warning kubectl users see, in upstream order', (t) => {
  t.is(
    details(restricted, plainPod()),
    'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  );
  const hostile: PodSpecView = { ...plainPod(), hostNetwork: true, volumes: [{ name: 'h', hostPath: { path: '/' } }] };
  t.regex(
    details(restricted, hostile),
    /^host namespaces \(hostNetwork=true\), hostPath volumes \(volume "h"\), allowPrivilegeEscalation != false .*restricted volume types \(volume "h" uses restricted volume type "hostPath"\)/,
    'baseline reasons first, then restricted ones',
  );
});

test('versions: a check applies from the version that introduced it, and changes with later versions', (t) => {
  const rootUser: PodSpecView = (() => {
    const s = restrictedPod();
    s.securityContext!.runAsUser = 0;
    return s;
  })();
  t.deepEqual(
    evaluatePod({ level: 'restricted', version: { minor: 22 } }, {}, rootUser),
    [],
    'runAsUser=0 is checked from v1.23',
  );
  t.is(
    details({ level: 'restricted', version: { minor: 23 } }, rootUser),
    'runAsUser=0 (pod must not set runAsUser=0)',
  );
  const keepalive: PodSpecView = {
    securityContext: { sysctls: [{ name: 'net.ipv4.tcp_keepalive_time', value: '60' }] },
    containers: [{ name: 'a' }],
  };
  t.is(
    details({ level: 'baseline', version: { minor: 28 } }, keepalive),
    'forbidden sysctls (net.ipv4.tcp_keepalive_time)',
  );
  t.deepEqual(evaluatePod({ level: 'baseline', version: { minor: 29 } }, {}, keepalive), []);
  const windows: PodSpecView = { ...plainPod(), os: { name: 'windows' }, securityContext: { runAsNonRoot: true } };
  t.is(
    details({ level: 'restricted', version: { minor: 24 } }, windows).split(', ')[0],
    'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)',
  );
  t.deepEqual(
    evaluatePod({ level: 'restricted', version: { minor: 25 } }, {}, windows),
    [],
    'from v1.25 Linux-only restricted checks skip Windows pods',
  );
  const oldSeccomp = { annotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' } };
  t.is(
    details({ level: 'baseline', version: { minor: 18 } }, plainPod(), oldSeccomp),
    'seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")',
  );
  t.deepEqual(evaluatePod(baseline, oldSeccomp, plainPod()), [], 'from v1.19 the field counts, not the annotation');
});
