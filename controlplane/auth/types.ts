/** Who is asking and what they ask for: the seams between authentication and authorization. */
export interface UserInfo {
  readonly name: string;
  readonly groups: readonly string[];
  readonly uid?: string;
}

export const anonymousUser: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

interface ResourceAttributes {
  readonly group: string;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string;
  readonly name: string;
}

export interface Attributes {
  readonly user: UserInfo;
  /** API verb (get, list, watch, create, update, patch, delete, deletecollection) or HTTP verb for paths. */
  readonly verb: string;
  readonly resource?: ResourceAttributes;
  /** For non-resource requests: the URL path. */
  readonly path?: string;
}

export interface Decision {
  readonly allowed: boolean;
  readonly reason: string;
}

export interface Authorizer {
  authorize(attributes: Attributes): Promise<Decision>;
}

export interface Authenticator {
  /** undefined: this authenticator has nothing to say; throws ApiError 'Unauthorized' for bad credentials. */
  authenticate(request: {
    bearerToken?: string;
    peerCertificate?: { subject: Record<string, string | string[]> };
  }): Promise<UserInfo | undefined>;
}
