/**
 * The faults a soak injects, and the seeded schedule that orders them. Pure: a seed and a plan in,
 * the same list of faults out on every run, so a failing soak can be replayed exactly.
 */

/** What a fault does; each kind has one executor (executors.ts). */
export type FaultKind =
  | 'agent-kill' // SIGKILL the node's agent, start it again
  | 'containerd-kill' // SIGKILL the node's containerd (its shims survive), start it again
  | 'partition' // cut the node off for longer than the node-monitor grace period, then heal
  | 'server-kill' // SIGKILL bosun server, start it again on the same data
  | 'write-burst' // 500 object writes as fast as a few clients can send them
  | 'iptables-flush'; // flush bosun's chains inside the node's network namespace

export const faultKinds: readonly FaultKind[] = [
  'agent-kill',
  'containerd-kill',
  'partition',
  'server-kill',
  'write-burst',
  'iptables-flush',
];

/** Kinds that hit one node; the others hit the cluster as a whole. */
const perNode: ReadonlySet<FaultKind> = new Set(['agent-kill', 'containerd-kill', 'partition', 'iptables-flush']);

export interface Fault {
  /** 1-based position in the run. */
  index: number;
  kind: FaultKind;
  /** The node it hits, for per-node kinds. */
  node?: string;
}

/** mulberry32: a small, well-mixed 32-bit PRNG; the same seed gives the same sequence everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface SchedulePlan {
  seed: number;
  count: number;
  nodes: readonly string[];
  kinds?: readonly FaultKind[];
}

/**
 * `count` faults in random order. Kinds are dealt in shuffled rounds (every kind once per round) so
 * that even a short run injects each kind, and a round never starts with the kind that ended the
 * previous one (the same fault twice in a row tests less).
 */
export function scheduleFaults(plan: SchedulePlan): Fault[] {
  const kinds = plan.kinds ?? faultKinds;
  if (kinds.length === 0 || plan.nodes.length === 0)
    throw new Error('a soak needs at least one fault kind and one node');
  const random = seededRandom(plan.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const faults: Fault[] = [];
  while (faults.length < plan.count) {
    const round = [...kinds];
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [round[i], round[j]] = [round[j]!, round[i]!];
    }
    if (round.length > 1 && round[0] === faults.at(-1)?.kind) [round[0], round[1]] = [round[1]!, round[0]!];
    for (const kind of round) {
      if (faults.length === plan.count) break;
      faults.push({ index: faults.length + 1, kind, ...(perNode.has(kind) ? { node: pick(plan.nodes) } : {}) });
    }
  }
  return faults;
}

export function describeFault(fault: Fault): string {
  return fault.node === undefined ? fault.kind : `${fault.kind} ${fault.node}`;
}
