/** Every way `bosun join` fails, by stable code; the message is the one line the user reads. */
export type JoinErrorCode =
  | 'JOIN_USAGE'
  | 'JOIN_PREFLIGHT'
  | 'JOIN_UNREACHABLE'
  | 'JOIN_NO_CLUSTER_INFO'
  | 'JOIN_BAD_TOKEN'
  | 'JOIN_CA_MISMATCH'
  | 'JOIN_CLOCK_SKEW'
  | 'JOIN_ALREADY_JOINED'
  | 'JOIN_CSR_REFUSED'
  | 'JOIN_CSR_TIMEOUT'
  | 'JOIN_NO_CONTROL_PLANE_MATERIAL'
  | 'JOIN_BAD_CERTIFICATE_KEY'
  | 'JOIN_AGENT';

export class JoinError extends Error {
  readonly code: JoinErrorCode;
  constructor(code: JoinErrorCode, message: string) {
    super(message);
    this.name = 'JoinError';
    this.code = code;
  }
}
