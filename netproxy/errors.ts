/**
 * Every error the proxy raises, by stable code (base and convention in kube/errors.ts). Callers
 * branch on `code`, never on the message.
 */
import { CodedError } from '../kube/errors.ts';

export const ProxyErrorCode = {
  /** iptables-restore refused a payload. */
  restoreFailed: 'BOSUN_PROXY_RESTORE_FAILED',
  /** Both the nf_tables and the legacy iptables backend hold rules on this host. */
  mixedBackends: 'BOSUN_PROXY_MIXED_BACKENDS',
  /** No usable iptables tools. */
  noIptables: 'BOSUN_PROXY_NO_IPTABLES',
  /** The kernel has no IPVS (ip_vs module). */
  noIpvs: 'BOSUN_PROXY_NO_IPVS',
  /** The long-lived `nft -i` ended or hung before answering (the transaction goes to `nft -f`). */
  nftSessionLost: 'BOSUN_PROXY_NFT_SESSION_LOST',
  /** A host tool failed in a way the proxy cannot work around. */
  commandFailed: 'BOSUN_PROXY_COMMAND_FAILED',
} as const;
export type ProxyErrorCode = (typeof ProxyErrorCode)[keyof typeof ProxyErrorCode];

export class ProxyError extends CodedError<ProxyErrorCode> {}
