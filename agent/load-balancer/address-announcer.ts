/**
 * Telling the segment that a pool address moved here. Clients cache the old holder's MAC address
 * for the address and keep sending there until the entry fails its probes (about 20 s measured in
 * the sandbox). There is no arping on the nodes and Node cannot send raw frames, so the kernel is
 * made to ask: the node forgets its dynamic neighbours and sends each one datagram from the new
 * address; the kernel then broadcasts an ARP request whose sender is the new address with this
 * node's MAC, and every host on the segment that has the address cached takes the new MAC (Linux
 * updates a cached sender on any ARP request it sees). One `ip -batch` and one short process.
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

/** Sends one datagram from each source to each target's discard port, then exits. */
const sendScript = `
const dgram = require('node:dgram');
const { sources, targets } = JSON.parse(process.argv[1]);
let pending = sources.length * targets.length;
if (pending === 0) process.exit(0);
setTimeout(() => process.exit(0), 2000).unref();
for (const source of sources) {
  const socket = dgram.createSocket('udp4');
  socket.on('error', () => { if (--pending <= 0) process.exit(0); });
  socket.bind({ address: source, port: 0 }, () => {
    for (const target of targets)
      socket.send(Buffer.alloc(1), 9, target, () => { if (--pending <= 0) process.exit(0); });
  });
}
`;

/** Makes the neighbours of `dev` learn that `sources` now live here. Throws when a step fails. */
export async function announceAddresses(runner: CommandRunner, dev: string, sources: readonly string[]): Promise<void> {
  if (sources.length === 0) return;
  const shown = await runner.run(['ip', '-j', 'neigh', 'show', 'dev', dev], { timeoutMs: 30_000 });
  if (shown.code !== 0) throw new Error(`ip neigh show failed (exit ${shown.code}): ${shown.stderr.trim()}`);
  const targets = announcementTargets(JSON.parse(shown.stdout || '[]') as Json[]);
  if (targets.length === 0) return;
  const forget = targets.map((ip) => `neigh del ${ip} dev ${dev}`);
  const r = await runner.run(['ip', '-force', '-batch', '-'], { input: `${forget.join('\n')}\n`, timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`ip -batch failed (exit ${r.code}): ${r.stderr.trim()}`);
  const sent = await runner.run([process.execPath, '-e', sendScript, JSON.stringify({ sources, targets })], {
    timeoutMs: 10_000,
  });
  if (sent.code !== 0)
    throw new Error(`announcing ${sources.join(', ')} failed (exit ${sent.code}): ${sent.stderr.trim()}`);
}
