/**
 * Every coded error the agent raises, in one place (the shared base and convention are in
 * kube/errors.ts). Each message is the one line the user sees: what failed and what to do about it.
 */
import { CodedError } from '../kube/errors.ts';

/** Why `bosun agent` could not start. */
export type AgentStartCode =
  | 'BOSUN_AGENT_KUBECONFIG'
  | 'BOSUN_AGENT_API_UNREACHABLE'
  | 'BOSUN_AGENT_VERSION_SKEW'
  | 'BOSUN_AGENT_RUNTIME_UNREACHABLE'
  | 'BOSUN_AGENT_BAD_CONFIG'
  | 'BOSUN_AGENT_LISTEN_FAILED';

export class AgentStartError extends CodedError<AgentStartCode> {}

/** A node flag (labels, taints, reservations) the agent cannot use. */
export class NodeFlagError extends CodedError<'BOSUN_AGENT_BAD_FLAG'> {
  constructor(message: string) {
    super('BOSUN_AGENT_BAD_FLAG', message);
  }
}

/** Thrown when a check ran out of time, so callers can say "timed out" rather than "failed". */
export class ProbeTimeoutError extends CodedError<'BOSUN_AGENT_PROBE_TIMEOUT'> {
  constructor(message: string) {
    super('BOSUN_AGENT_PROBE_TIMEOUT', message);
  }
}
