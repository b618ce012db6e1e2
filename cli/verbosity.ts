/**
 * `-v N`, as klog-based daemons (kubelet, kube-apiserver) take it, mapped onto bosun's log levels:
 * klog's 0–3 are the operational messages bosun logs at info, 4 is where klog's debug detail
 * starts, 5 and above are trace. `--log-level` names a level directly and wins when both are given.
 */
const logLevels = ['trace', 'debug', 'info', 'warn', 'error'] as const;

interface VerbosityArgs {
  'log-level'?: string | undefined;
  v?: number | undefined;
}

/** `--log-level` with no default of its own (the default depends on `-v`), and `-v`. */
export function logLevelOption(fallback: 'info' | 'warn') {
  return {
    type: 'string',
    choices: logLevels,
    defaultDescription: fallback,
    describe: 'Least severe level logged',
  } as const;
}

export const verbosityOption = {
  type: 'number',
  describe: 'klog-style verbosity: 0-3 info, 4 debug, 5 and more trace (--log-level wins)',
} as const;

/** The level to log at: `--log-level` if given, else what `-v` means, else the command's default. */
export function logLevelOf(args: VerbosityArgs, fallback: 'info' | 'warn'): string {
  if (args['log-level'] !== undefined) return args['log-level'];
  const v = args.v;
  if (v === undefined || !Number.isFinite(v)) return fallback;
  if (v >= 5) return 'trace';
  if (v >= 4) return 'debug';
  return fallback === 'warn' && v <= 0 ? 'warn' : 'info';
}
