/**
 * The runtime's own streaming exec, without bosun: CRI Exec for a one-time URL, then a websocket
 * (v4.channel.k8s.io) straight to containerd's streaming server, which listens on the node's
 * loopback, so this runs inside the node's network namespace. One exec per line read on stdin
 * ("go"), one JSON line of phases written per exec, so the bench interleaves it with its other
 * measurements round by round.
 *
 *   nsenter --net=/run/netns/<node> node runtime-stream.ts <cri endpoint> <container id>
 */
import { createInterface } from 'node:readline';
import { CriClient } from '../../cri/client.ts';
import { websocketUrl } from '../../cri/stream.ts';
import { timeWebsocketExec } from './websocket-exec.ts';

const [endpoint, containerId] = process.argv.slice(2);
if (endpoint === undefined || containerId === undefined) {
  process.stderr.write('usage: runtime-stream.ts <cri endpoint> <container id>\n');
  process.exit(2);
}
const runtime = new CriClient(endpoint);
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() !== 'go') continue;
  const start = performance.now();
  const url = await runtime.exec({ containerId, cmd: ['true'], stdin: false, stdout: true, stderr: true, tty: false });
  const execCallMs = performance.now() - start;
  const phases = await timeWebsocketExec(websocketUrl(url), 'v4.channel.k8s.io');
  process.stdout.write(
    `${JSON.stringify({ execCallMs, upgradeMs: execCallMs + phases.upgradeMs, streamMs: phases.streamMs, totalMs: performance.now() - start })}\n`,
  );
}
runtime.close();
