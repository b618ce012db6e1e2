/**
 * Why `bosun agent` could not start, by code. Each message is the one line the user sees: what
 * failed and what to do about it.
 */
export type AgentStartCode =
  | 'AGENT_KUBECONFIG'
  | 'AGENT_API_UNREACHABLE'
  | 'AGENT_RUNTIME_UNREACHABLE'
  | 'AGENT_BAD_CONFIG'
  | 'AGENT_LISTEN_FAILED';

export class AgentStartError extends Error {
  readonly code: AgentStartCode;
  constructor(code: AgentStartCode, message: string) {
    super(message);
    this.name = 'AgentStartError';
    this.code = code;
  }
}
