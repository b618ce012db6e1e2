/**
 * The cluster-wide Pod Security configuration: the policy for namespaces that do not name one
 * (`bosun server --pod-security-default`) and who is exempt. Defaults follow upstream's
 * recommendation: enforce privileged, warn and audit baseline, so nothing that worked before is
 * refused but every pod that baseline would refuse is reported; kube-system is exempt, as the
 * system's own pods (node agents, proxies) need the node.
 */
import {
  formatLevelVersion,
  modes,
  parseLevel,
  parseVersion,
  type LevelVersion,
  type Mode,
  type Policy,
} from './level.ts';

export interface PodSecurityExemptions {
  readonly usernames: readonly string[];
  readonly runtimeClasses: readonly string[];
  readonly namespaces: readonly string[];
}

export interface PodSecurityConfig {
  readonly defaults: Policy;
  readonly exemptions: PodSecurityExemptions;
}

const latest = (level: LevelVersion['level']): LevelVersion => ({ level, version: 'latest' });

export const defaultPodSecurityPolicy: Policy = {
  enforce: latest('privileged'),
  audit: latest('baseline'),
  warn: latest('baseline'),
};

export const defaultPodSecurityConfig: PodSecurityConfig = {
  defaults: defaultPodSecurityPolicy,
  exemptions: { usernames: [], runtimeClasses: [], namespaces: ['kube-system'] },
};

/**
 * The `--pod-security-default` that `bosun init --pod-security <level>` gives the server: the level
 * enforced cluster-wide, and warn and audit at least at baseline so that nothing refused goes unsaid.
 */
export function podSecurityDefaultForLevel(level: LevelVersion['level']): string {
  const reported = level === 'privileged' ? 'baseline' : level;
  return `enforce=${level},audit=${reported},warn=${reported}`;
}

/**
 * Reads `enforce=baseline,warn=restricted:v1.30,audit=baseline`: each mode a level with an optional
 * `:version`; modes left out keep upstream's defaults. Throws an Error saying what is wrong.
 */
export function parsePodSecurityDefault(text: string, base: Policy = defaultPodSecurityPolicy): Policy {
  const policy: Record<Mode, LevelVersion> = { ...base };
  for (const entry of text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    const [mode, value = ''] = entry.split('=', 2) as [string, string?];
    if (!(modes as readonly string[]).includes(mode))
      throw new Error(`"${entry}": the mode must be one of ${modes.join(', ')}`);
    const [levelText = '', versionText = 'latest'] = value.split(':', 2);
    const level = parseLevel(levelText);
    if (level === undefined) throw new Error(`"${entry}": the level must be one of privileged, baseline, restricted`);
    const version = parseVersion(versionText);
    if (version === undefined) throw new Error(`"${entry}": the version must be "latest" or "v1.x"`);
    policy[mode as Mode] = { level, version };
  }
  return policy;
}

/** `enforce=privileged:latest,audit=baseline:latest,warn=baseline:latest`, for logs and docs. */
export function formatPolicy(policy: Policy): string {
  return modes.map((mode) => `${mode}=${formatLevelVersion(policy[mode])}`).join(',');
}

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** The configuration from `bosun server`'s flags; throws an Error naming the flag that is wrong. */
export function podSecurityConfigFromFlags(flags: {
  default: string;
  exemptNamespaces: string;
  exemptUsernames: string;
  exemptRuntimeClasses: string;
}): PodSecurityConfig {
  let defaults: Policy;
  try {
    defaults = parsePodSecurityDefault(flags.default);
  } catch (err) {
    throw new Error(`--pod-security-default ${(err as Error).message}`, { cause: err });
  }
  return {
    defaults,
    exemptions: {
      namespaces: list(flags.exemptNamespaces),
      usernames: list(flags.exemptUsernames),
      runtimeClasses: list(flags.exemptRuntimeClasses),
    },
  };
}
