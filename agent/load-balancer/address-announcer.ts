/**
 * Telling the segment that a pool address moved here. Clients cache the old holder's MAC address
 * for the address and keep sending there until the entry fails its probes (about 20 s measured in
 * the sandbox). There is no arping on the nodes and Node cannot send raw frames, so the kernel is
 * made to ask: the node forgets its dynamic neighbours and sends each one datagram from the new
 * address; the kernel then broadcasts an ARP request whose sender is the new address with this
 * node's MAC, and every host on the segment that has the address cached takes the new MAC (Linux
 * updates a cached sender on any ARP request it sees). One short process, which runs one `ip -batch`.
 */
import type { CommandRunner } from '../../netproxy/command-runner.ts';
import { isIPv4 } from '../../netproxy/ipv4.ts';

type Json = Record<string, any>;

/** States of entries the kernel learnt itself (never one someone configured: PERMANENT, NOARP). */
const learnt = new Set(['REACHABLE', 'STALE', 'DELAY', 'PROBE']);

/** The neighbours to ask through, from `ip -j neigh show dev <dev>`. */
export function announcementTargets(json: readonly Json[]): string[] {
  return json
    .filter(
      (n) =>
        typeof n.dst === 'string' &&
        isIPv4(n.dst) &&
        typeof n.lladdr === 'string' &&
        Array.isArray(n.state) &&
        n.state.some((s: unknown) => learnt.has(String(s))),
    )
    .map((n) => n.dst as string)
    .sort();
}

/**
 * Binds a socket to each source, then forgets the targets and at once sends each a datagram: the
 * agent talks to some neighbours all the time (the API server), and its own packet must not be the
 * one that makes the kernel ask, or the request names the node address instead of the pool address.
 * The window is short but real (measured in the sandbox: one move in three still waited for the
 * client's cache), so this is done a few times, as gratuitous ARP senders repeat themselves.
 */
const sendScript = `
const dgram = require('node:dgram');
const { spawnSync } = require('node:child_process');
const { dev, sources, targets, rounds, gapMs } = JSON.parse(process.argv[1]);
const bind = (address) => new Promise((resolve, reject) => {
  const socket = dgram.createSocket('udp4');
  socket.once('error', reject);
  socket.bind({ address, port: 0 }, () => resolve(socket));
});
(async () => {
  const sockets = await Promise.all(sources.map(bind));
  const forget = targets.map((ip) => 'neigh del ' + ip + ' dev ' + dev).join('\\n') + '\\n';
  for (let round = 0; round < rounds; round++) {
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    spawnSync('ip', ['-force', '-batch', '-'], { input: forget });
    await Promise.all(sockets.flatMap((socket) => targets.map((target) =>
      new Promise((resolve) => socket.send(Buffer.alloc(1), 9, target, resolve)))));
  }
  process.exit(0);
})().catch((err) => { console.error(String(err)); process.exit(1); });
`;

/** Makes the neighbours of `dev` learn that `sources` now live here; returns whom it asked. Throws when a step fails. */
export async function announceAddresses(
  runner: CommandRunner,
  dev: string,
  sources: readonly string[],
): Promise<string[]> {
  if (sources.length === 0) return [];
  const shown = await runner.run(['ip', '-j', 'neigh', 'show', 'dev', dev], { timeoutMs: 30_000 });
  if (shown.code !== 0) throw new Error(`ip neigh show failed (exit ${shown.code}): ${shown.stderr.trim()}`);
  const targets = announcementTargets(JSON.parse(shown.stdout || '[]') as Json[]);
  if (targets.length === 0) return [];
  const sent = await runner.run(
    [process.execPath, '-e', sendScript, JSON.stringify({ dev, sources, targets, rounds: 3, gapMs: 300 })],
    {
      timeoutMs: 10_000,
    },
  );
  if (sent.code !== 0)
    throw new Error(`announcing ${sources.join(', ')} failed (exit ${sent.code}): ${sent.stderr.trim()}`);
  return targets;
}
