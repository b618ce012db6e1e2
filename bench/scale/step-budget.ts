/**
 * How the scale bench shares one backend's time between its steps (100, 300, 1,000 nodes...).
 *
 * A step joins its new nodes, rolls out its pods, then holds a steady window. Joining is what the
 * run must not cut short: a slow rollout at 300 nodes must not keep the run from reaching the
 * largest size. So every later step's join (estimated from the join rate measured so far) and its
 * fixed overhead are reserved first, and a step's join may use everything else. The time no join
 * needs is shared between the rollouts, weighted by the square root of the nodes (so pods) each
 * step adds: in proportion, the 100-node step would get a tenth of it, less than its 3,000 pods
 * take (about 28 s), while the largest step's rollout does not finish on a 2-core machine in any
 * share (9,400 of 30,000 pods ready in the report's run); complete small steps give the curve its
 * first points. A step that ends early leaves its time to the next ones.
 */
export interface StepBudget {
  /** Node counts of the steps, ascending. */
  sizes: readonly number[];
  /** The step asking (an index into sizes). */
  step: number;
  now: number;
  /** When the backend's share of the run ends (same clock as now). */
  backendDeadline: number;
  /** Nodes joined per second, as measured in this run so far (a first guess before that). */
  joinRate: number;
  /** Per step, time spent neither joining nor rolling out: the steady window, the scrapes. */
  overheadMs: number;
}

/** Joins later in a run are slower than the one measured (more nodes already renew leases): 13 nodes/s for 200, 8 for the next 700. */
const joinEstimateMargin = 1.5;

function nodesAdded(sizes: readonly number[], step: number): number {
  return sizes[step]! - (step > 0 ? sizes[step - 1]! : 0);
}

function joinEstimateMs(b: StepBudget, step: number): number {
  return (nodesAdded(b.sizes, step) / b.joinRate) * 1000 * joinEstimateMargin;
}

/** What the steps after this one need for their joins and overheads. */
function laterStepsMs(b: StepBudget): number {
  let total = 0;
  for (let j = b.step + 1; j < b.sizes.length; j++) total += joinEstimateMs(b, j) + b.overheadMs;
  return total;
}

/**
 * Until when this step's join may wait for its nodes: all but what later steps need, and never less
 * than its own estimate (a first guess of the join rate that is too low must not leave a step no
 * time at all: at 4 nodes/s the later joins of 100/300/1,000 seemed to need the whole share).
 */
export function joinDeadline(b: StepBudget): number {
  const ownEstimate = b.now + joinEstimateMs(b, b.step);
  return Math.min(
    b.backendDeadline - b.overheadMs,
    Math.max(ownEstimate, b.backendDeadline - laterStepsMs(b) - b.overheadMs),
  );
}

/** Until when this step's rollout may wait for its replicas; asked when its join is over. */
export function rolloutDeadline(b: StepBudget): number {
  const free = b.backendDeadline - b.now - laterStepsMs(b) - b.overheadMs;
  if (free <= 0) return b.now;
  const weights = b.sizes.slice(b.step).map((_, k) => Math.sqrt(nodesAdded(b.sizes, b.step + k)));
  return b.now + (free * weights[0]!) / weights.reduce((a, w) => a + w, 0);
}
