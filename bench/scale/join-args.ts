/** The tail of a `bosun join` line for a server (a new bootstrap token), as hollow nodes take it. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

export async function joinArgs(server: { kubeconfig: string }): Promise<string[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    join(import.meta.dirname, '../../cli/main.ts'),
    'token',
    'create',
    '--kubeconfig',
    server.kubeconfig,
    '--print-join-command',
  ]);
  const words = stdout.trim().split('\n').at(-1)!.split(/\s+/);
  const token = words[words.indexOf('--token') + 1]!;
  const hash = words[words.indexOf('--discovery-token-ca-cert-hash') + 1]!;
  return ['--token', token, '--discovery-token-ca-cert-hash', hash];
}
