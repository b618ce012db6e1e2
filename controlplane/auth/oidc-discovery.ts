/**
 * Service-account issuer discovery, as upstream serves it: an OpenID Connect discovery document at
 * /.well-known/openid-configuration naming the issuer and where its keys are, and the JSON Web Key
 * Set at /openid/v1/jwks, so that something outside the cluster (a cloud's workload identity, a
 * vault) can verify service-account tokens without calling the API server. Both are readable by
 * every service account through the default `system:service-account-issuer-discovery` binding.
 */
import type { ServiceAccountTokens } from './service-account-tokens.ts';

const discoveryPath = '/.well-known/openid-configuration';
const jwksPath = '/openid/v1/jwks';

interface ServedDocument {
  readonly contentType: string;
  readonly body: unknown;
  readonly headers: Record<string, string>;
}

/** Relying parties may cache both for an hour, as upstream tells them. */
const cacheable = { 'Cache-Control': 'public, max-age=3600' };

/**
 * The document served at `path`, or undefined when `path` is neither. `serverUrl` is this server's
 * external https URL, under which the key set is published (upstream's default jwks_uri).
 */
export function issuerDiscoveryDocument(
  tokens: ServiceAccountTokens,
  path: string,
  serverUrl: string,
): ServedDocument | undefined {
  if (path === discoveryPath) {
    return {
      contentType: 'application/json',
      headers: cacheable,
      body: {
        issuer: tokens.issuer,
        jwks_uri: `${serverUrl}${jwksPath}`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      },
    };
  }
  if (path === jwksPath) return { contentType: 'application/jwk-set+json', headers: cacheable, body: tokens.jwks() };
  return undefined;
}
