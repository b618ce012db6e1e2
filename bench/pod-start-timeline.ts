/**
 * Where the time of a pod started through the API goes: the benchmark's own clock (create request,
 * watch event showing every container running) joined with the agent's debug log lines of the same
 * pod, into consecutive steps whose p50/p99 the pod-start report prints.
 *
 * Steps, each from the end of the one before:
 *  - toAgent:    create request → the agent's pod worker starts (API, watch delivery, informer)
 *  - sandbox:    → RunPodSandbox answered (first runtime observation, log folder, the sandbox itself)
 *  - containers: → the last container started (image check, volumes, env, CreateContainer, StartContainer)
 *  - status:     → the first status written after it (runtime observation, status computed, written)
 *  - toWatch:    → the benchmark's watch shows every container running (≤ 0 when the event came
 *                before the agent logged the write's answer: the log time is taken after it)
 * The agent's log times are wall-clock milliseconds, as the benchmark's are (same host).
 */

/** What the agent logs at debug level along a pod's start (messages of agent/pods). */
const marks = {
  seen: 'pod worker started',
  sandbox: 'pod sandbox ready',
  started: 'container started',
  status: 'pod status written',
} as const;

export const timelineSteps = ['toAgent', 'sandbox', 'containers', 'status', 'toWatch'] as const;
type TimelineStep = (typeof timelineSteps)[number];

/** One pod of the benchmark: wall-clock ms of its create request and of the watch event showing it running. */
export interface ObservedStart {
  /** `namespace/name`, as the agent logs it. */
  pod: string;
  createdAt: number;
  runningAt: number;
}

interface AgentMarks {
  seen?: number;
  sandbox?: number;
  /** Every container start, in log order. */
  started: number[];
  statuses: number[];
}

/** The agent's marks per pod, from its log (JSON lines; other lines are skipped). */
export function agentMarks(log: string): Map<string, AgentMarks> {
  const byPod = new Map<string, AgentMarks>();
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: { pod?: unknown; msg?: unknown; time?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (typeof entry.pod !== 'string' || typeof entry.time !== 'number') continue;
    const pod = byPod.get(entry.pod) ?? { started: [], statuses: [] };
    byPod.set(entry.pod, pod);
    if (entry.msg === marks.seen) pod.seen ??= entry.time;
    else if (entry.msg === marks.sandbox) pod.sandbox ??= entry.time;
    else if (entry.msg === marks.started) pod.started.push(entry.time);
    else if (entry.msg === marks.status) pod.statuses.push(entry.time);
  }
  return byPod;
}

/** The steps of one pod, or undefined when the agent's log lacks one of its marks. */
export function podTimeline(
  start: ObservedStart,
  marks: AgentMarks | undefined,
): Record<TimelineStep, number> | undefined {
  if (marks?.seen === undefined || marks.sandbox === undefined || marks.started.length === 0) return undefined;
  const lastStarted = Math.max(...marks.started);
  const written = marks.statuses.find((t) => t >= lastStarted);
  if (written === undefined) return undefined;
  return {
    toAgent: marks.seen - start.createdAt,
    sandbox: marks.sandbox - marks.seen,
    containers: lastStarted - marks.sandbox,
    status: written - lastStarted,
    toWatch: start.runningAt - written,
  };
}

interface TimelineSummary {
  /** Pods whose every mark was found. */
  pods: number;
  steps: Record<TimelineStep, { p50: number; p99: number }>;
}

/** p50/p99 of each step over the pods whose marks are all in the log; undefined when none are. */
export function summarizeTimeline(
  starts: readonly ObservedStart[],
  log: string,
  percentile: (samples: number[], p: number) => number,
): TimelineSummary | undefined {
  const byPod = agentMarks(log);
  const timelines = starts.flatMap((s) => podTimeline(s, byPod.get(s.pod)) ?? []);
  if (timelines.length === 0) return undefined;
  const steps = Object.fromEntries(
    timelineSteps.map((step) => {
      const samples = timelines.map((t) => t[step]);
      return [step, { p50: percentile(samples, 50), p99: percentile(samples, 99) }];
    }),
  ) as TimelineSummary['steps'];
  return { pods: timelines.length, steps };
}
