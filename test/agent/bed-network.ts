/**
 * Probes and hooks reach pods from inside a test-bed node's network namespace, as the agent on
 * that node would: each check runs the agent's own `nodeNetwork` code in a short Node process
 * started in the node's namespace.
 */
import type { BedNode } from '../bed/index.ts';
import { ProbeTimeoutError } from '../../agent/errors.ts';
import type { ProbeNetwork } from '../../agent/pods/probe-network.ts';

const networkModule = new URL('../../agent/pods/probe-network.ts', import.meta.url).pathname;

async function runInNode(node: BedNode, call: string, args: unknown[], timeoutMs: number): Promise<unknown> {
  const script = `
    const { nodeNetwork } = await import(${JSON.stringify(networkModule)});
    try {
      const value = await nodeNetwork[${JSON.stringify(call)}](...${JSON.stringify(args)});
      process.stdout.write(JSON.stringify({ value: value ?? null }));
    } catch (err) {
      process.stdout.write(JSON.stringify({ error: err.message, timeout: err.code === 'BOSUN_AGENT_PROBE_TIMEOUT' }));
    }`;
  const result = await node.run([process.execPath, '--input-type=module', '-e', script], {
    timeoutMs: timeoutMs + 10_000,
  });
  const answer = JSON.parse(result.stdout || '{"error":"no output"}') as {
    value?: unknown;
    error?: string;
    timeout?: boolean;
  };
  if (answer.error !== undefined) throw answer.timeout ? new ProbeTimeoutError(answer.error) : new Error(answer.error);
  return answer.value;
}

export function bedNetwork(node: BedNode): ProbeNetwork {
  return {
    async httpGet(check) {
      return (await runInNode(node, 'httpGet', [check], check.timeoutMs)) as number;
    },
    async tcpConnect(host, port, timeoutMs) {
      await runInNode(node, 'tcpConnect', [host, port, timeoutMs], timeoutMs);
    },
  };
}
