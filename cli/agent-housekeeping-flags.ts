/**
 * `bosun agent` flags for how the node defends itself, named and defaulted as the kubelet's:
 * container log rotation, image garbage collection and hard eviction. Parsed into the agent's
 * HousekeepingConfig; a bad value is a one-line usage error.
 */
import type { Options } from 'yargs';
import { validateLogPolicy } from '../agent/logs/container-log-manager.ts';
import { defaultEvictionHard, parseThresholds } from '../agent/eviction/thresholds.ts';
import { validateGcPolicy } from '../agent/images/image-gc-plan.ts';
import type { HousekeepingConfig } from '../agent/housekeeping.ts';
import { parseQuantity } from '../kube/quantity.ts';
import { parseDurationSeconds } from './duration.ts';
import { CliError, ExitCode } from './exit.ts';
import { listOption } from './list-flag.ts';

export interface HousekeepingArgs {
  'container-log-max-size': string;
  'container-log-max-files': number;
  'image-gc-high-threshold': number;
  'image-gc-low-threshold': number;
  'minimum-image-ttl-duration': string;
  'eviction-hard': string[];
  'eviction-pressure-transition-period': string;
}

/** The flags as data, part of the agent's (cli/agent-flags.ts). */
export const housekeepingFlags = {
  'container-log-max-size': {
    type: 'string',
    default: '10Mi',
    describe: "Rotate a container's log file when it reaches this size",
  },
  'container-log-max-files': {
    type: 'number',
    default: 5,
    describe: 'Log files kept per container, the live one included (older ones gzip-compressed)',
  },
  'image-gc-high-threshold': {
    type: 'number',
    default: 85,
    describe: 'Image filesystem usage (percent) at which unused images are removed',
  },
  'image-gc-low-threshold': {
    type: 'number',
    default: 80,
    describe: 'Image filesystem usage (percent) image garbage collection frees down to',
  },
  'minimum-image-ttl-duration': {
    type: 'string',
    default: '2m',
    describe: 'An unused image is kept at least this long after it was first seen',
  },
  'eviction-hard': listOption(
    'Hard eviction thresholds: signal<quantity or percentage; signals memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, imagefs.inodesFree, pid.available',
    [defaultEvictionHard],
  ),
  'eviction-pressure-transition-period': {
    type: 'string',
    default: '5m',
    describe: 'How long a pressure condition stays True after its threshold was last met',
  },
} as const satisfies Record<string, Options>;

function duration(flag: string, text: string): number {
  const seconds = parseDurationSeconds(text);
  if (seconds === undefined)
    throw new CliError(`--${flag} ${text} is not a duration such as 30s, 2m or 1h`, ExitCode.usage);
  return seconds * 1000;
}

export function housekeepingConfig(args: HousekeepingArgs): HousekeepingConfig {
  let maxSize: number;
  try {
    maxSize = parseQuantity(args['container-log-max-size']);
  } catch {
    throw new CliError(
      `--container-log-max-size ${args['container-log-max-size']} is not a size such as 10Mi`,
      ExitCode.usage,
    );
  }
  const logProblem = validateLogPolicy(maxSize, args['container-log-max-files']);
  if (logProblem !== undefined) throw new CliError(logProblem, ExitCode.usage);
  const imageGc = {
    highPercent: args['image-gc-high-threshold'],
    lowPercent: args['image-gc-low-threshold'],
    minAgeMs: duration('minimum-image-ttl-duration', args['minimum-image-ttl-duration']),
  };
  const gcProblem = validateGcPolicy(imageGc);
  if (gcProblem !== undefined) throw new CliError(gcProblem, ExitCode.usage);
  let evictionHard;
  try {
    evictionHard = parseThresholds(args['eviction-hard'].join(','));
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.usage);
  }
  return {
    containerLogMaxSizeBytes: maxSize,
    containerLogMaxFiles: args['container-log-max-files'],
    imageGc,
    evictionHard,
    evictionPressureTransitionMs: duration(
      'eviction-pressure-transition-period',
      args['eviction-pressure-transition-period'],
    ),
  };
}
