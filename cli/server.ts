/**
 * `bosun server`: the bundled Kubernetes-compatible API server. Runs in the foreground until
 * SIGTERM/SIGINT, then stops serving and closes the datastore.
 */
import { SystemdNotifier, spawnNotifyRunner } from '../kube/systemd-notify.ts';
import type { Argv, CommandModule } from 'yargs';
import { agentCommand } from './agent-command.ts';
import { defaultConfigFile, withConfigFile } from './config/daemon-config.ts';
import { optionTableOfCommand } from './config/command-option-table.ts';
import { logLevelOf, logLevelOption, verbosityOption } from './verbosity.ts';
import { CliError, ExitCode } from './exit.ts';
import { parseDurationSeconds } from './duration.ts';
import { listOption } from './list-flag.ts';
import { bosunVersion } from './version.ts';
import { join } from 'node:path';
import { defaultSnapshotCron, defaultSnapshotRetention } from '../controlplane/snapshots/snapshot-defaults.ts';
import { auditSettings, etcdClientTls, readEncryptionConfig } from './server-files.ts';
import { serverJoinCommand } from './server-join-command.ts';
import { controllersLoopbacks, type ControllersLoopback } from '../controlplane/loopback-client.ts';
import {
  leaderElectionTimingsProblem,
  type LeaderElectionTimings,
} from '../controlplane/leader-election/election-config.ts';

interface ServerArgs {
  'data-dir': string;
  datastore: string;
  'etcd-endpoints': string[];
  'bind-address': string;
  'secure-port': number;
  'advertise-address': string;
  'service-cluster-ip-range': string;
  'tls-san': string[];
  'log-level'?: string | undefined;
  v?: number | undefined;
  controllers: boolean;
  scheduler: boolean;
  'cluster-cidr': string;
  'lb-address-pool': string | undefined;
  'node-cidr-mask-size': number;
  'node-monitor-period': string;
  'node-monitor-grace-period': string;
  'node-startup-grace-period': string;
  'horizontal-pod-autoscaler-sync-period': string;
  'horizontal-pod-autoscaler-downscale-stabilization': string;
  'horizontal-pod-autoscaler-tolerance': number;
  'horizontal-pod-autoscaler-cpu-initialization-period': string;
  'horizontal-pod-autoscaler-initial-readiness-delay': string;
  'kubelet-egress-socket': string | undefined;
  'metric-resolution': string;
  'service-account-issuer': string;
  'service-account-max-token-expiration': string;
  'default-not-ready-toleration-seconds': number;
  'default-unreachable-toleration-seconds': number;
  'max-requests-inflight': number;
  'max-mutating-requests-inflight': number;
  'max-watches-per-user': number;
  'pod-security-default': string;
  'pod-security-exempt-namespaces': string;
  'pod-security-exempt-usernames': string;
  'pod-security-exempt-runtime-classes': string;
  'encryption-provider-config': string | undefined;
  'snapshot-cron': string;
  'snapshot-retention': number;
  'snapshot-dir': string | undefined;
  'etcd-cafile': string | undefined;
  'etcd-certfile': string | undefined;
  'etcd-keyfile': string | undefined;
  'audit-policy-file': string | undefined;
  'audit-log-path': string | undefined;
  'audit-log-maxsize': number;
  'audit-log-maxbackup': number;
  'audit-log-maxage': number;
  'admin-kubeconfig-copy': string | undefined;
  'leader-elect': boolean | undefined;
  'controllers-loopback': string;
  'leader-elect-lease-duration': string;
  'leader-elect-renew-deadline': string;
  'leader-elect-retry-period': string;
  'apiserver-lease-duration': string;
  'apiserver-lease-renew-interval': string;
}

type TimingFlag =
  | 'leader-elect-lease-duration'
  | 'leader-elect-renew-deadline'
  | 'leader-elect-retry-period'
  | 'apiserver-lease-duration'
  | 'apiserver-lease-renew-interval';

/** A positive duration flag in ms ('15s', '2s', '500ms'). */
function timingFlagMs(args: ServerArgs, flag: TimingFlag): number {
  const text = args[flag];
  const millis = /^(\d+)ms$/.exec(text);
  const seconds = millis ? Number(millis[1]) / 1000 : parseDurationSeconds(text);
  if (seconds === undefined || seconds <= 0)
    throw new CliError(`--${flag} ${text}: use a duration like 15s, 2s or 500ms`, ExitCode.usage);
  return seconds * 1000;
}

/** --apiserver-lease-*: the renewal must come well within the lease. */
function apiServerLeaseFromFlags(args: ServerArgs): { leaseDurationMs: number; renewIntervalMs: number } {
  const timings = {
    leaseDurationMs: timingFlagMs(args, 'apiserver-lease-duration'),
    renewIntervalMs: timingFlagMs(args, 'apiserver-lease-renew-interval'),
  };
  if (timings.leaseDurationMs < 1000 || timings.renewIntervalMs >= timings.leaseDurationMs)
    throw new CliError(
      '--apiserver-lease-renew-interval must be shorter than --apiserver-lease-duration (at least 1s)',
      ExitCode.usage,
    );
  return timings;
}

/** --leader-elect and its timings (upstream's flags and rules), or undefined when it is off. */
function leaderElectionFromFlags(args: ServerArgs): LeaderElectionTimings | undefined {
  if (!(args['leader-elect'] ?? args.datastore === 'etcd')) return undefined;
  const durationMs = (flag: TimingFlag) => timingFlagMs(args, flag);
  const timings = {
    leaseDurationMs: durationMs('leader-elect-lease-duration'),
    renewDeadlineMs: durationMs('leader-elect-renew-deadline'),
    retryPeriodMs: durationMs('leader-elect-retry-period'),
  };
  const problem = leaderElectionTimingsProblem(timings);
  if (problem !== undefined) throw new CliError(`--leader-elect-*: ${problem}`, ExitCode.usage);
  return timings;
}

/** `--config`: the flags-as-keys file shared with bosun agent (the agent's keys are skipped here). */
function serverConfigFile<T>(y: Argv<T>): Argv<T> {
  return withConfigFile(
    y,
    'config',
    'YAML file of server flags as keys (flags given here win), shared with bosun agent (its keys are skipped)',
    {
      command: 'bosun server',
      elsewhere: () => new Set(optionTableOfCommand(agentCommand as unknown as CommandModule<object, never>).keys()),
      kinds: [],
      optionalPath: defaultConfigFile,
      flagsAsKeys: true,
    },
  );
}

export const serverCommand: CommandModule<object, ServerArgs> = {
  command: 'server',
  describe: 'Run the Kubernetes-compatible API server (HTTPS, sqlite or etcd datastore)',
  builder: (y) =>
    serverConfigFile(y.command(serverJoinCommand as unknown as CommandModule))
      .option('data-dir', {
        type: 'string',
        default: '/var/lib/bosun/server',
        describe: 'Where the datastore (sqlite), PKI and admin.kubeconfig live',
      })
      .option('datastore', {
        type: 'string',
        choices: ['sqlite', 'etcd'],
        default: 'sqlite',
        describe: 'Embedded sqlite, or an etcd cluster',
      })
      .option('etcd-endpoints', listOption('etcd client URLs (with --datastore etcd)'))
      .option('etcd-cafile', {
        type: 'string',
        describe: "CA bundle that signed etcd's serving certificate (https:// endpoints)",
      })
      .option('etcd-certfile', { type: 'string', describe: 'Client certificate for etcd (etcd --client-cert-auth)' })
      .option('etcd-keyfile', { type: 'string', describe: 'Key of --etcd-certfile' })
      .option('audit-policy-file', {
        type: 'string',
        describe: 'Audit policy (audit.k8s.io/v1 Policy): which requests are logged, at which level',
      })
      .option('audit-log-path', {
        type: 'string',
        describe: 'Write audit events here, one JSON line each (- for stdout)',
      })
      .option('audit-log-maxsize', {
        type: 'number',
        default: 0,
        describe: 'Rotate the audit log past this many megabytes (0: never)',
      })
      .option('audit-log-maxbackup', {
        type: 'number',
        default: 0,
        describe: 'Keep at most this many rotated audit logs (0: all)',
      })
      .option('audit-log-maxage', {
        type: 'number',
        default: 0,
        describe: 'Remove rotated audit logs older than this many days (0: never)',
      })
      .option('encryption-provider-config', {
        type: 'string',
        describe:
          'EncryptionConfiguration (apiserver.config.k8s.io/v1) that encrypts resources at rest: aescbc, aesgcm, identity',
      })
      .option('bind-address', { type: 'string', default: '0.0.0.0', describe: 'Address to serve HTTPS on' })
      .option('secure-port', { type: 'number', default: 6443, describe: 'HTTPS port (0: pick a free one)' })
      .option('advertise-address', {
        type: 'string',
        default: '127.0.0.1',
        describe: 'Address clients and nodes use to reach this server',
      })
      .option('service-cluster-ip-range', {
        type: 'string',
        default: '10.96.0.0/12',
        describe: 'CIDR that Service ClusterIPs come from',
      })
      .option('tls-san', listOption('Extra names or IPs for the serving certificate'))
      .option('log-level', logLevelOption('info'))
      .option('v', verbosityOption)
      .option('admin-kubeconfig-copy', {
        type: 'string',
        describe:
          'Keep this copy of admin.kubeconfig current when the server renews the admin certificate (bosun init passes its own)',
      })
      .option('kubelet-egress-socket', {
        type: 'string',
        describe:
          "Reach nodes' kubelet ports, pods and aggregated API servers through an HTTP CONNECT proxy on this unix socket (when the server has no route to its nodes)",
      })
      .option('metric-resolution', {
        type: 'string',
        default: '15s',
        describe:
          "How often every node's /metrics/resource is scraped for metrics.k8s.io (kubectl top, autoscalers); at least 10s",
      })
      .option('controllers', {
        type: 'boolean',
        default: true,
        describe: 'Run the controllers (--no-controllers: serve the API only)',
      })
      .option('scheduler', {
        type: 'boolean',
        default: true,
        describe: 'Run the scheduler (--no-scheduler when another one places pods)',
      })
      .option('controllers-loopback', {
        type: 'string',
        choices: controllersLoopbacks,
        default: 'in-process',
        describe:
          "How the scheduler, controllers and certificate signer reach this server's API: in-process (its request handler, no TLS or sockets) or tcp (loopback HTTPS, as a separate controller manager); both authenticate as the admin certificate",
      })
      .option('leader-elect', {
        type: 'boolean',
        describe:
          'Run the scheduler and controllers only while this server holds their Leases in kube-system (default: on with --datastore etcd, where several servers may share the cluster)',
      })
      .option('leader-elect-lease-duration', {
        type: 'string',
        default: '15s',
        describe: 'How long standby servers wait after the leader last renewed before taking over',
      })
      .option('leader-elect-renew-deadline', {
        type: 'string',
        default: '10s',
        describe: 'How long the leader tries to renew before it stops leading (shorter than the lease duration)',
      })
      .option('leader-elect-retry-period', {
        type: 'string',
        default: '2s',
        describe: 'The pause between attempts to acquire or renew the Leases',
      })
      .option('apiserver-lease-duration', {
        type: 'string',
        default: '15s',
        describe:
          "How long this server's kube-system/apiserver-<id> Lease keeps it in the kubernetes Service's endpoints without a renewal",
      })
      .option('apiserver-lease-renew-interval', {
        type: 'string',
        default: '10s',
        describe: 'How often this server renews its Lease and rewrites the kubernetes endpoints from the live servers',
      })
      .option('cluster-cidr', {
        type: 'string',
        default: '10.244.0.0/16',
        describe: 'CIDR that node pod subnets come from',
      })
      .option('lb-address-pool', {
        type: 'string',
        describe:
          "IPv4 CIDR (e.g. 192.0.2.0/28) that LoadBalancer Services take their address from, bound on one announcing node; default: the announcing nodes' own addresses",
      })
      .option('node-cidr-mask-size', { type: 'number', default: 24, describe: 'Prefix length of each node pod subnet' })
      .option('node-monitor-period', { type: 'string', default: '5s', describe: 'How often node health is checked' })
      .option('node-monitor-grace-period', {
        type: 'string',
        default: '50s',
        describe: 'Silence after which a node is Unknown',
      })
      .option('node-startup-grace-period', {
        type: 'string',
        default: '60s',
        describe: 'Silence allowed for a node that has just registered',
      })
      .option('horizontal-pod-autoscaler-sync-period', {
        type: 'string',
        default: '15s',
        describe: 'How often each HorizontalPodAutoscaler is evaluated',
      })
      .option('horizontal-pod-autoscaler-downscale-stabilization', {
        type: 'string',
        default: '5m',
        describe: 'How far back the highest recommendation holds a scale-down (when behavior does not say)',
      })
      .option('horizontal-pod-autoscaler-tolerance', {
        type: 'number',
        default: 0.1,
        describe: 'Ratio of usage to target within which no scaling happens (either way)',
      })
      .option('horizontal-pod-autoscaler-cpu-initialization-period', {
        type: 'string',
        default: '5m',
        describe: 'After a pod starts, CPU samples count only once it is ready for a whole sample window',
      })
      .option('horizontal-pod-autoscaler-initial-readiness-delay', {
        type: 'string',
        default: '30s',
        describe: 'After a pod starts, the time in which turning unready means it has never been ready',
      })
      .option('service-account-issuer', {
        type: 'string',
        default: 'https://kubernetes.default.svc.cluster.local',
        describe: 'The iss claim of service-account tokens, and the issuer named by /.well-known/openid-configuration',
      })
      .option('service-account-max-token-expiration', {
        type: 'string',
        default: '48h',
        describe: 'The longest lifetime a TokenRequest gets (longer asks are shortened); 0: no limit',
      })
      .option('default-not-ready-toleration-seconds', {
        type: 'number',
        default: 300,
        describe: 'Seconds new pods tolerate the not-ready:NoExecute taint unless they say otherwise',
      })
      .option('default-unreachable-toleration-seconds', {
        type: 'number',
        default: 300,
        describe: 'Seconds new pods tolerate the unreachable:NoExecute taint unless they say otherwise',
      })
      .option('max-requests-inflight', {
        type: 'number',
        default: 400,
        describe: 'Read-only requests served at once; more get 429 (0: no limit; watches and streams not counted)',
      })
      .option('max-mutating-requests-inflight', {
        type: 'number',
        default: 200,
        describe: 'Mutating requests served at once; more get 429 (0: no limit)',
      })
      .option('max-watches-per-user', {
        type: 'number',
        default: 1000,
        describe: 'Watches one user may hold open; more get 429 (0: no limit)',
      })
      .option('pod-security-default', {
        type: 'string',
        default: 'enforce=privileged,audit=baseline,warn=baseline',
        describe:
          'Pod Security levels for namespaces without pod-security.kubernetes.io labels: mode=level[:version] per mode (enforce, audit, warn; level privileged, baseline or restricted; version latest or v1.x)',
      })
      .option('pod-security-exempt-namespaces', {
        type: 'string',
        default: 'kube-system',
        describe: 'Comma-separated namespaces that Pod Security never checks',
      })
      .option('pod-security-exempt-usernames', {
        type: 'string',
        default: '',
        describe: 'Comma-separated users whose pods Pod Security never checks',
      })
      .option('snapshot-cron', {
        type: 'string',
        default: defaultSnapshotCron,
        describe: "When to snapshot the datastore (cron, as k3s' default: every 12 hours); '' for never",
      })
      .option('snapshot-retention', {
        type: 'number',
        default: defaultSnapshotRetention,
        describe: 'How many scheduled snapshots are kept (snapshots taken by hand are never removed)',
      })
      .option('snapshot-dir', {
        type: 'string',
        describe: 'Where snapshots go (default: <data-dir>/snapshots)',
      })
      .option('pod-security-exempt-runtime-classes', {
        type: 'string',
        default: '',
        describe: 'Comma-separated RuntimeClass names whose pods Pod Security never checks',
      }),
  handler: async (args) => {
    const [{ startServer }, { pino }, { podSecurityConfigFromFlags }] = await Promise.all([
      import('../controlplane/server.ts'),
      import('pino'),
      import('../controlplane/admission/pod-security/config.ts'),
    ]);
    const port = args['secure-port'];
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new CliError(`--secure-port ${port} is not a port`, ExitCode.usage);
    if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(args['service-cluster-ip-range'])) {
      throw new CliError(
        `--service-cluster-ip-range ${args['service-cluster-ip-range']} is not an IPv4 CIDR`,
        ExitCode.usage,
      );
    }
    if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(args['cluster-cidr']))
      throw new CliError(`--cluster-cidr ${args['cluster-cidr']} is not an IPv4 CIDR`, ExitCode.usage);
    const mask = args['node-cidr-mask-size'];
    if (!Number.isInteger(mask) || mask < Number(args['cluster-cidr'].split('/')[1]) || mask > 30) {
      throw new CliError(
        `--node-cidr-mask-size ${mask} must be between the cluster CIDR's prefix and 30`,
        ExitCode.usage,
      );
    }
    const durationMs = (flag: 'node-monitor-period' | 'node-monitor-grace-period' | 'node-startup-grace-period') => {
      const seconds = parseDurationSeconds(args[flag]);
      if (seconds === undefined || seconds === 0)
        throw new CliError(`--${flag} ${args[flag]}: use a duration like 5s, 50s or 1m`, ExitCode.usage);
      return seconds * 1000;
    };
    const loadBalancerPool =
      args['lb-address-pool'] === undefined
        ? undefined
        : (await import('../controlplane/controllers/load-balancer-addresses.ts')).parseAddressPool(
            args['lb-address-pool'],
          );
    if (typeof loadBalancerPool === 'string')
      throw new CliError(`--lb-address-pool ${loadBalancerPool}`, ExitCode.usage);
    const nodeLifecycle = {
      clusterCidr: args['cluster-cidr'],
      nodeCidrMaskSize: mask,
      monitorPeriodMs: durationMs('node-monitor-period'),
      graceMs: durationMs('node-monitor-grace-period'),
      startupGraceMs: durationMs('node-startup-grace-period'),
    };
    const autoscalerMs = (
      flag:
        | 'horizontal-pod-autoscaler-sync-period'
        | 'horizontal-pod-autoscaler-downscale-stabilization'
        | 'horizontal-pod-autoscaler-cpu-initialization-period'
        | 'horizontal-pod-autoscaler-initial-readiness-delay',
      zeroAllowed: boolean,
    ) => {
      const seconds = parseDurationSeconds(args[flag]);
      if (seconds === undefined || (seconds === 0 && !zeroAllowed))
        throw new CliError(`--${flag} ${args[flag]}: use a duration like 15s or 5m`, ExitCode.usage);
      return seconds * 1000;
    };
    const tolerance = args['horizontal-pod-autoscaler-tolerance'];
    if (!Number.isFinite(tolerance) || tolerance < 0)
      throw new CliError(`--horizontal-pod-autoscaler-tolerance ${tolerance}: use a ratio like 0.1`, ExitCode.usage);
    const horizontalPodAutoscaler = {
      syncPeriodMs: autoscalerMs('horizontal-pod-autoscaler-sync-period', false),
      downscaleStabilizationMs: autoscalerMs('horizontal-pod-autoscaler-downscale-stabilization', true),
      tolerance,
      cpuInitializationPeriodMs: autoscalerMs('horizontal-pod-autoscaler-cpu-initialization-period', true),
      delayOfInitialReadinessStatusMs: autoscalerMs('horizontal-pod-autoscaler-initial-readiness-delay', true),
    };
    const metricResolutionSeconds = parseDurationSeconds(args['metric-resolution']);
    if (metricResolutionSeconds === undefined || metricResolutionSeconds < 10)
      throw new CliError(
        `--metric-resolution ${args['metric-resolution']}: metric-resolution should be a time duration at least 10s`,
        ExitCode.usage,
      );
    const leaderElection = leaderElectionFromFlags(args);
    const apiServerLease = apiServerLeaseFromFlags(args);
    const maxTokenSeconds = parseDurationSeconds(args['service-account-max-token-expiration']);
    if (maxTokenSeconds === undefined || (maxTokenSeconds > 0 && maxTokenSeconds < 600)) {
      throw new CliError(
        `--service-account-max-token-expiration ${args['service-account-max-token-expiration']}: use 0 or a duration of at least 10m, like 48h`,
        ExitCode.usage,
      );
    }
    if (args['service-account-issuer'].trim() === '')
      throw new CliError('--service-account-issuer may not be empty', ExitCode.usage);
    const tolerationSeconds = (
      flag: 'default-not-ready-toleration-seconds' | 'default-unreachable-toleration-seconds',
    ) => {
      const seconds = args[flag];
      if (!Number.isInteger(seconds) || seconds < 0)
        throw new CliError(`--${flag} ${seconds}: use a whole number of seconds`, ExitCode.usage);
      return seconds;
    };
    const defaultTolerationSeconds = {
      notReady: tolerationSeconds('default-not-ready-toleration-seconds'),
      unreachable: tolerationSeconds('default-unreachable-toleration-seconds'),
    };
    const count = (flag: 'max-requests-inflight' | 'max-mutating-requests-inflight' | 'max-watches-per-user') => {
      const value = args[flag];
      if (!Number.isInteger(value) || value < 0)
        throw new CliError(`--${flag} ${value} must be a whole number, 0 or more`, ExitCode.usage);
      return value;
    };
    const inflight = {
      maxReadOnly: count('max-requests-inflight'),
      maxMutating: count('max-mutating-requests-inflight'),
      maxWatchesPerUser: count('max-watches-per-user'),
    };
    let podSecurity;
    try {
      podSecurity = podSecurityConfigFromFlags({
        default: args['pod-security-default'],
        exemptNamespaces: args['pod-security-exempt-namespaces'],
        exemptUsernames: args['pod-security-exempt-usernames'],
        exemptRuntimeClasses: args['pod-security-exempt-runtime-classes'],
      });
    } catch (err) {
      throw new CliError((err as Error).message, ExitCode.usage);
    }
    const encryption =
      args['encryption-provider-config'] === undefined
        ? undefined
        : readEncryptionConfig(args['encryption-provider-config']);
    const audit = auditSettings(args);
    const { cronProblem } = await import('../controlplane/snapshots/snapshot-schedule.ts');
    const snapshotProblem = args['snapshot-cron'] === '' ? undefined : cronProblem(args['snapshot-cron']);
    if (snapshotProblem !== undefined)
      throw new CliError(
        `--snapshot-cron ${JSON.stringify(args['snapshot-cron'])}: ${snapshotProblem}`,
        ExitCode.usage,
      );
    if (!Number.isInteger(args['snapshot-retention']) || args['snapshot-retention'] < 1)
      throw new CliError(
        `--snapshot-retention ${args['snapshot-retention']} must be a whole number of at least 1`,
        ExitCode.usage,
      );
    const etcdTls = etcdClientTls(args['etcd-cafile'], args['etcd-certfile'], args['etcd-keyfile']);
    const logger = pino({ level: logLevelOf(args, 'info'), base: { component: 'server' } });
    let server;
    try {
      server = await startServer({
        dataDir: args['data-dir'],
        datastore: args.datastore as 'sqlite' | 'etcd',
        etcdEndpoints: args['etcd-endpoints'],
        ...(etcdTls ? { etcdTls } : {}),
        ...(encryption ? { encryption } : {}),
        ...(audit ? { audit } : {}),
        bindAddress: args['bind-address'],
        securePort: port,
        advertiseAddress: args['advertise-address'],
        serviceCidr: args['service-cluster-ip-range'],
        apiServerLease,
        controllersLoopback: args['controllers-loopback'] as ControllersLoopback,
        tlsSans: args['tls-san'],
        compactionIntervalMs: 5 * 60 * 1000,
        bookmarkIntervalMs: 60 * 1000,
        inflight,
        logger,
        kubernetesVersion: 'v1.32.0',
        bosunVersion,
        serviceAccountIssuer: args['service-account-issuer'],
        serviceAccountMaxTokenExpirationSeconds: maxTokenSeconds,
        defaultTolerationSeconds,
        podSecurity,
        snapshots: {
          schedule: {
            cron: args['snapshot-cron'],
            retention: args['snapshot-retention'],
            dir: args['snapshot-dir'] ?? join(args['data-dir'], 'snapshots'),
          },
          encryptionConfig: args['encryption-provider-config'],
          bosunVersion,
        },
        ...(args['kubelet-egress-socket'] ? { kubeletEgressSocket: args['kubelet-egress-socket'] } : {}),
        metricResolutionMs: metricResolutionSeconds * 1000,
        ...(args['admin-kubeconfig-copy'] ? { adminKubeconfigCopies: [args['admin-kubeconfig-copy']] } : {}),
        ...(args.controllers
          ? {
              controlLoops: {
                withoutScheduler: !args.scheduler,
                nodeLifecycle,
                horizontalPodAutoscaler,
                ...(leaderElection ? { leaderElection } : {}),
                ...(loadBalancerPool ? { loadBalancerPool } : {}),
              },
            }
          : {}),
      });
    } catch (err) {
      throw new CliError(`server failed to start: ${(err as Error).message}`);
    }
    const running = server;
    // Type=notify (systemd/bosun-server.service): READY=1 only now that the API serves from the
    // datastore, and watchdog pings while the process lives, as the unit's WatchdogSec expects
    const notifier = new SystemdNotifier(spawnNotifyRunner, logger);
    const alive = new AbortController();
    await notifier.ready(`serving on port ${port}`);
    notifier.watchdog(alive.signal);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    logger.info('stopping');
    alive.abort();
    await notifier.stopping();
    await running.close();
  },
};
