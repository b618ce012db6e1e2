/**
 * The three things every join command line carries, checked the same way for `bosun join` and
 * `bosun server join`: the server's https:// URL, the bootstrap token and the CA pins.
 */
import type { BootstrapToken } from '../kube/bootstrap.ts';
import { CliError, ExitCode } from './exit.ts';

export interface JoinCredentials {
  /** The first of `servers`. */
  server: URL;
  /** Every server named, comma-separated in the one argument. */
  servers: URL[];
  token: BootstrapToken;
  pins: string[];
}

export async function joinCredentials(
  server: string,
  tokenText: string,
  pinTexts: readonly string[],
): Promise<JoinCredentials> {
  const { parseBootstrapToken, parseCaCertHash } = await import('../kube/bootstrap.ts');
  const token = parseBootstrapToken(tokenText);
  if (!token)
    throw new CliError(
      '--token must look like abcdef.0123456789abcdef (6 and 16 lower-case letters or digits)',
      ExitCode.usage,
    );
  const pins = pinTexts.map(String);
  const parsedPins = pins.map(parseCaCertHash);
  const badPin = pins.find((_, i) => parsedPins[i] === undefined);
  if (badPin !== undefined)
    throw new CliError(
      `--discovery-token-ca-cert-hash ${badPin}: use sha256:<64 hex digits> (bosun token create --print-join-command prints it)`,
      ExitCode.usage,
    );
  const servers = server
    .split(',')
    .map((text) => text.trim())
    .filter((text) => text !== '')
    .map((text) => {
      try {
        const url = new URL(text);
        if (url.protocol !== 'https:') throw new Error('not https');
        return url;
      } catch {
        throw new CliError(
          `${text} is not an https:// URL of the API server (e.g. https://10.0.0.1:6443)`,
          ExitCode.usage,
        );
      }
    });
  if (servers.length === 0)
    throw new CliError(
      `${server} is not an https:// URL of the API server (e.g. https://10.0.0.1:6443)`,
      ExitCode.usage,
    );
  return { server: servers[0]!, servers, token, pins: parsedPins as string[] };
}
