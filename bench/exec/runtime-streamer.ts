/**
 * Drives runtime-stream.ts inside a node's network namespace: one exec per `next()`, so the bench
 * can interleave the runtime's own streaming exec with its other measurements.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { inNetns } from '../../host/process/process.ts';

export interface RuntimeRound {
  /** CRI Exec alone (the one-time URL). */
  execCallMs: number;
  /** CRI Exec and the websocket upgrade at the streaming server. */
  upgradeMs: number;
  /** From the 101 to the close: the command's run, its status and the close. */
  streamMs: number;
  totalMs: number;
}

export function runtimeStreamer(
  netns: string,
  criEndpoint: string,
  containerId: string,
): { next(): Promise<RuntimeRound>; close(): void } {
  const script = join(import.meta.dirname, 'runtime-stream.ts');
  const [command, ...args] = inNetns(netns, [process.execPath, script, criEndpoint, containerId]);
  const child = spawn(command!, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async next() {
      child.stdin.write('go\n');
      const line = await lines.next();
      if (line.done) throw new Error(`the runtime stream helper in ${netns} ended (exit ${child.exitCode})`);
      return JSON.parse(line.value) as RuntimeRound;
    },
    close() {
      child.stdin.end();
    },
  };
}
