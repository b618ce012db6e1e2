/**
 * `bosun agent` flags for graceful node shutdown, named and defaulted as the kubelet's:
 * --shutdown-grace-period (0: off) and --shutdown-grace-period-critical-pods (the part of it kept
 * for critical pods). A bad value is a one-line usage error.
 */
import type { Options } from 'yargs';
import { invalidShutdownSettings, type ShutdownSettings } from '../agent/shutdown/shutdown-plan.ts';
import { parseDurationSeconds } from './duration.ts';
import { CliError, ExitCode } from './exit.ts';

export interface ShutdownArgs {
  'shutdown-grace-period': string;
  'shutdown-grace-period-critical-pods': string;
}

/** The flags as data, part of the agent's (cli/agent-flags.ts). */
export const shutdownFlags = {
  'shutdown-grace-period': {
    type: 'string',
    default: '0s',
    describe:
      'How long the node delays its shutdown to stop pods (needs systemd-logind, whose InhibitDelayMaxSec the agent raises to it); 0s: graceful node shutdown off',
  },
  'shutdown-grace-period-critical-pods': {
    type: 'string',
    default: '0s',
    describe: 'The part of --shutdown-grace-period kept for critical pods, stopped after all others',
  },
} as const satisfies Record<string, Options>;

function seconds(flag: string, text: string): number {
  const value = parseDurationSeconds(text);
  if (value === undefined) throw new CliError(`--${flag} ${text} is not a duration such as 30s or 2m`, ExitCode.usage);
  return value;
}

export function shutdownSettings(args: ShutdownArgs): ShutdownSettings {
  const settings = {
    gracePeriodSeconds: seconds('shutdown-grace-period', args['shutdown-grace-period']),
    criticalGracePeriodSeconds: seconds(
      'shutdown-grace-period-critical-pods',
      args['shutdown-grace-period-critical-pods'],
    ),
  };
  const problem = invalidShutdownSettings(settings);
  if (problem !== undefined) throw new CliError(problem, ExitCode.usage);
  return settings;
}
