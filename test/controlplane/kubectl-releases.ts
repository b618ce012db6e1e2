/**
 * The kubectl releases the google-cloud-sdk folder may hold, oldest first, and where each one is.
 * Tests loop over these and report a release that is not installed as a visible skip line.
 */
import { existsSync } from 'node:fs';

const folder = '/usr/lib/google-cloud-sdk/bin';
export const kubectlReleases = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.32', '1.33'] as const;

export interface KubectlRelease {
  readonly release: string;
  readonly binary: string;
  readonly installed: boolean;
}

export function kubectlReleaseBinaries(): KubectlRelease[] {
  return kubectlReleases.map((release) => {
    const binary = `${folder}/kubectl.${release}`;
    return { release, binary, installed: existsSync(binary) };
  });
}
