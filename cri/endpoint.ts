/**
 * Which runtime endpoint to talk to, decided the way crictl users expect:
 *   1. the --runtime-endpoint / -r flag,
 *   2. the CONTAINER_RUNTIME_ENDPOINT environment variable,
 *   3. `runtime-endpoint:` in the crictl-style config file (--config, CRI_CONFIG_FILE, or /etc/crictl.yaml),
 *   4. unix:///run/containerd/containerd.sock.
 * crictl used to probe a list of sockets when nothing was set and picked surprising ones
 * (cri-tools#893, #1041); we use one documented default and say where the choice came from.
 */
import { readFileSync } from 'node:fs';
import { CriBadEndpointError } from './errors.ts';

export const defaultEndpoint = 'unix:///run/containerd/containerd.sock';
const defaultConfigFile = '/etc/crictl.yaml';

type EndpointSource = 'flag' | 'env' | 'config' | 'default';

interface ResolvedEndpoint {
  endpoint: string;
  source: EndpointSource;
  /** Per-call timeout from the config file's `timeout:` (seconds there, ms here), if any. */
  timeoutMs?: number;
}

interface CrictlConfig {
  runtimeEndpoint?: string;
  imageEndpoint?: string;
  timeoutSec?: number;
  debug?: boolean;
}

/** Reads the flat `key: value` file crictl writes (runtime-endpoint, image-endpoint, timeout, debug). */
export function parseCrictlConfig(text: string): CrictlConfig {
  const config: CrictlConfig = {};
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/#.*$/, '').trim();
    const match = /^([A-Za-z-]+)\s*:\s*(.*)$/.exec(line);
    if (!match) continue;
    const value = match[2]!.trim().replace(/^(['"])(.*)\1$/, '$2');
    switch (match[1]) {
      case 'runtime-endpoint':
        if (value) config.runtimeEndpoint = value;
        break;
      case 'image-endpoint':
        if (value) config.imageEndpoint = value;
        break;
      case 'timeout': {
        const seconds = Number(value);
        if (Number.isFinite(seconds) && seconds > 0) config.timeoutSec = seconds;
        break;
      }
      case 'debug':
        config.debug = value === 'true';
        break;
    }
  }
  return config;
}

/** The pure decision; `configText` is undefined when there is no config file. */
export function chooseEndpoint(input: {
  flag?: string | undefined;
  env?: string | undefined;
  configText?: string | undefined;
}): ResolvedEndpoint {
  const config = input.configText === undefined ? {} : parseCrictlConfig(input.configText);
  const timeout = config.timeoutSec === undefined ? {} : { timeoutMs: config.timeoutSec * 1000 };
  if (input.flag) return { endpoint: checkEndpoint(input.flag), source: 'flag', ...timeout };
  if (input.env) return { endpoint: checkEndpoint(input.env), source: 'env', ...timeout };
  if (config.runtimeEndpoint) return { endpoint: checkEndpoint(config.runtimeEndpoint), source: 'config', ...timeout };
  return { endpoint: defaultEndpoint, source: 'default', ...timeout };
}

/**
 * Accepts unix:///abs/path, unix:/abs/path, a bare absolute path, and tcp://host:port (as grpc-js
 * 'host:port'); anything else is refused with the forms that work.
 */
export function checkEndpoint(endpoint: string): string {
  if (endpoint.startsWith('unix:///')) return endpoint;
  if (endpoint.startsWith('unix:/')) return `unix://${endpoint.slice('unix:'.length)}`;
  if (endpoint.startsWith('/')) return `unix://${endpoint}`;
  const tcp = /^tcp:\/\/([^/]+:\d+)\/?$/.exec(endpoint);
  if (tcp) return tcp[1]!;
  throw new CriBadEndpointError(
    `cannot use runtime endpoint "${endpoint}": write unix:///path/to/socket (or tcp://host:port)`,
  );
}

/** chooseEndpoint with the environment and the config file read from this host. */
export function resolveEndpoint(
  flags: { endpoint?: string | undefined; configFile?: string | undefined } = {},
  env: Record<string, string | undefined> = process.env,
  fallbackConfigFile = defaultConfigFile,
): ResolvedEndpoint {
  const configFile = flags.configFile ?? env.CRI_CONFIG_FILE ?? fallbackConfigFile;
  let configText: string | undefined;
  try {
    configText = readFileSync(configFile, 'utf8');
  } catch (err) {
    // A missing default file is normal; a file the user named explicitly must exist.
    if (flags.configFile !== undefined || env.CRI_CONFIG_FILE !== undefined) {
      throw new CriBadEndpointError(`cannot read config file ${configFile}: ${(err as Error).message}`);
    }
  }
  return chooseEndpoint({ flag: flags.endpoint, env: env.CONTAINER_RUNTIME_ENDPOINT, configText });
}
