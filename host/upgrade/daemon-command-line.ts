/**
 * A running bosun daemon's own arguments, read back from its command line, so that an upgrade
 * starts the new build with exactly the flags the old one ran with (bosun init and join chose them;
 * nothing else records them when systemd does not run the machine). Pure.
 */

/** `server` or `agent` and the arguments after it, from /proc/<pid>/cmdline's NUL-separated words. */
export function daemonArgs(cmdline: string): { name: 'server' | 'agent'; args: string[] } | undefined {
  const words = cmdline.split('\0').filter((word) => word !== '');
  // node [node flags] /…/cli/main.ts <command> [flags]  (bin/bosun execs node on cli/main.ts)
  const main = words.findIndex((word) => /(^|\/)cli\/main\.ts$/.test(word) || /(^|\/)bin\/bosun$/.test(word));
  const name = words[main + 1];
  if (main === -1 || (name !== 'server' && name !== 'agent')) return undefined;
  return { name, args: words.slice(main + 2) };
}

/** The value of `--flag v` or `--flag=v` (the last one wins, as the parser reads it). */
export function flagIn(args: readonly string[], flag: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === `--${flag}` && i + 1 < args.length) value = args[++i];
    else if (arg.startsWith(`--${flag}=`)) value = arg.slice(flag.length + 3);
  }
  return value;
}
