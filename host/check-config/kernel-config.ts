/**
 * The running kernel's build configuration, as `k3s check-config` and Docker's check-config.sh
 * read it: `/proc/config.gz` when the kernel exposes it, else `/boot/config-<release>`. Read with
 * Node's zlib, without spawning zcat.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** `CONFIG_X` → `y`, `m` or a value; an option that is "not set" is absent. */
export type KernelConfig = ReadonlyMap<string, string>;

/** Parses the `.config` format: `CONFIG_X=y` lines; comments (`# CONFIG_X is not set`) say nothing. */
export function parseKernelConfig(text: string): KernelConfig {
  const options = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match !== null) options.set(match[1]!, match[2]!.replace(/^"(.*)"$/, '$1'));
  }
  return options;
}

/** The config and where it came from, or undefined when this kernel publishes none. */
export function readKernelConfig(release: string, root = '/'): { config: KernelConfig; source: string } | undefined {
  const candidates = [`${root}proc/config.gz`, `${root}boot/config-${release}`];
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    try {
      const raw = readFileSync(path);
      const text = path.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      return { config: parseKernelConfig(text), source: path.slice(root.length - 1) };
    } catch {
      // an unreadable candidate: try the next one
    }
  }
  return undefined;
}
