import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { run } from './run.ts';
import type { RunResult } from '../../host/process/run.ts';

const repo = resolve(import.meta.dirname, '../..');

interface LoadedModules {
  result: RunResult;
  /** The project's own files that were loaded, relative to the repository (cli/main.ts). */
  own: string[];
  /** The npm packages whose files were loaded (yargs, @grpc/grpc-js). */
  packages: string[];
  /** Node's built-in modules that were loaded (http, zlib, internal/...). */
  builtins: string[];
}

/** Runs a bosun command line (bin/bosun or the single executable) and reports what it loaded. */
export async function loadedModules(argv: readonly string[], env: Record<string, string> = {}): Promise<LoadedModules> {
  const folder = mkdtempSync(join(tmpdir(), 'bosun-module-log-'));
  try {
    const log = join(folder, 'modules.json');
    const preload = join(import.meta.dirname, 'module-load-log.ts');
    const result = await run(argv, {
      env: {
        ...env,
        BOSUN_MODULE_LOG: log,
        NODE_OPTIONS: `--disable-warning=ExperimentalWarning --require=${preload}`,
      },
    });
    const { files, builtins } = JSON.parse(readFileSync(log, 'utf8')) as { files: string[]; builtins: string[] };
    const packages = new Set<string>();
    const own: string[] = [];
    for (const file of files) {
      const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
      if (inPackage) packages.add(inPackage[1]!);
      else if (file !== preload) own.push(relative(repo, file));
    }
    return { result, own, packages: [...packages].sort(), builtins };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * Node built-ins that only the commands which talk to something load: a command that prints a
 * line (`--version`, `--help`) has no reason to pay for any of them.
 */
const builtinsOfWorkingCommands = [
  'http',
  'https',
  'http2',
  'tls',
  'crypto',
  'zlib',
  'child_process',
  'dgram',
  'dns',
  'readline',
] as const;

/** Which of builtinsOfWorkingCommands a run loaded. */
export const workingBuiltinsIn = (loaded: LoadedModules): string[] =>
  builtinsOfWorkingCommands.filter((name) => loaded.builtins.includes(name));
