/**
 * Makes sure the runtime speaks CRI v1 before anything relies on it. containerd 1.5 and older
 * answer only v1alpha2; then every call would fail with Unimplemented and a puzzling message.
 */
import { CriUnsupportedVersionError, runtimeNameOf, type CriError } from './errors.ts';
import type { CallOptions, RuntimeService } from './runtime.ts';
import type { VersionResponse } from './types.ts';

export async function checkRuntimeVersion(
  runtime: Pick<RuntimeService, 'version'> & { readonly endpoint: string },
  options?: CallOptions,
): Promise<VersionResponse> {
  let version: VersionResponse;
  try {
    version = await runtime.version(options);
  } catch (err) {
    if ((err as CriError).code === 'BOSUN_CRI_UNIMPLEMENTED') {
      throw new CriUnsupportedVersionError(
        `${runtimeNameOf(runtime.endpoint).name} at ${runtime.endpoint} does not offer CRI v1: bosun needs containerd 1.6 or newer`,
        { endpoint: runtime.endpoint, method: 'Version' },
      );
    }
    throw err;
  }
  if (version.runtimeApiVersion !== 'v1') {
    throw new CriUnsupportedVersionError(
      `${version.runtimeName || 'the runtime'} ${version.runtimeVersion} at ${runtime.endpoint} speaks CRI ${version.runtimeApiVersion || '(unknown)'}, bosun needs v1`,
      { endpoint: runtime.endpoint, method: 'Version' },
    );
  }
  return version;
}
