/**
 * Pod Security levels, versions and the policy a namespace's labels select. A namespace names a
 * level per mode (`pod-security.kubernetes.io/enforce: baseline`) and optionally the version of
 * the standard (`pod-security.kubernetes.io/enforce-version: v1.30`, default `latest`); what it
 * does not name comes from the cluster-wide default (`--pod-security-default`).
 */

type Level = 'privileged' | 'baseline' | 'restricted';
const levels: readonly Level[] = ['privileged', 'baseline', 'restricted'];

/** A minor version of the standard (`v1.<minor>`), or latest. */
type Version = { readonly minor: number } | 'latest';

export interface LevelVersion {
  readonly level: Level;
  readonly version: Version;
}

export type Mode = 'enforce' | 'audit' | 'warn';
export const modes: readonly Mode[] = ['enforce', 'audit', 'warn'];

export type Policy = Readonly<Record<Mode, LevelVersion>>;

const labelPrefix = 'pod-security.kubernetes.io/';

function levelLabel(mode: Mode): string {
  return `${labelPrefix}${mode}`;
}

function versionLabel(mode: Mode): string {
  return `${labelPrefix}${mode}-version`;
}

/** The level's rank: privileged < baseline < restricted. */
export function levelRank(level: Level): number {
  return levels.indexOf(level);
}

export function parseLevel(text: string): Level | undefined {
  return (levels as readonly string[]).includes(text) ? (text as Level) : undefined;
}

export function parseVersion(text: string): Version | undefined {
  if (text === 'latest') return 'latest';
  const match = /^v1\.(0|[1-9][0-9]{0,3})$/.exec(text);
  return match ? { minor: Number(match[1]) } : undefined;
}

const invalidLevelMessage = `must be one of ${levels.join(', ')}`;
const invalidVersionMessage = `must be "latest" or "v1.x"`;

function formatVersion(version: Version): string {
  return version === 'latest' ? 'latest' : `v1.${version.minor}`;
}

/** `baseline:latest`, as upstream names a level and version in its messages. */
export function formatLevelVersion(lv: LevelVersion): string {
  return `${lv.level}:${formatVersion(lv.version)}`;
}

export function sameLevelVersion(a: LevelVersion, b: LevelVersion): boolean {
  return a.level === b.level && formatVersion(a.version) === formatVersion(b.version);
}

/** A label whose value is not a level or version. */
interface LabelProblem {
  readonly label: string;
  readonly value: string;
  readonly message: string;
}

/**
 * The policy that a namespace's labels select over the defaults, and the labels that could not be
 * read. An unreadable enforce level fails closed (restricted); unreadable audit and warn levels
 * fail open (privileged). When enforce is set and warn is not, warn follows a stricter enforce, so
 * that a client hears of what would be refused.
 */
export function policyFromLabels(
  labels: Readonly<Record<string, string>> | undefined,
  defaults: Policy,
): { policy: Policy; problems: LabelProblem[] } {
  const problems: LabelProblem[] = [];
  const chosen: Record<Mode, { level: Level; version: Version }> = {
    enforce: { ...defaults.enforce },
    audit: { ...defaults.audit },
    warn: { ...defaults.warn },
  };
  const given = labels ?? {};
  for (const mode of modes) {
    const levelText = given[levelLabel(mode)];
    if (levelText !== undefined) {
      const level = parseLevel(levelText);
      if (level === undefined)
        problems.push({ label: levelLabel(mode), value: levelText, message: invalidLevelMessage });
      chosen[mode].level = level ?? (mode === 'enforce' ? 'restricted' : 'privileged');
    }
    const versionText = given[versionLabel(mode)];
    if (versionText !== undefined) {
      const version = parseVersion(versionText);
      if (version === undefined)
        problems.push({ label: versionLabel(mode), value: versionText, message: invalidVersionMessage });
      chosen[mode].version = version ?? 'latest';
    }
  }
  const enforceNamed =
    given[levelLabel('enforce')] !== undefined && parseLevel(given[levelLabel('enforce')]!) !== undefined;
  if (
    enforceNamed &&
    given[levelLabel('warn')] === undefined &&
    levelRank(chosen.enforce.level) > levelRank(chosen.warn.level)
  ) {
    chosen.warn.level = chosen.enforce.level;
    if (given[versionLabel('warn')] === undefined) chosen.warn.version = chosen.enforce.version;
  }
  return { policy: chosen, problems };
}
