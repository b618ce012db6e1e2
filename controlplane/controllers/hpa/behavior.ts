/**
 * From the count the metrics ask for to the count the controller sets, as upstream's horizontal
 * controller normalizes it: stabilization (the highest recommendation of the scale-down window,
 * the lowest of the scale-up window) and rate limits (without `behavior`: at most double, or 4,
 * per sync; with it: the scale-up and scale-down policies over their periods, counting the
 * changes already made in them), inside [minReplicas, maxReplicas]. Pure: the history of
 * recommendations and scale events comes in, and its next state goes out with the count and
 * the AbleToScale / ScalingLimited conditions to set.
 */

type Any = Record<string, any>;

interface Recommendation {
  readonly replicas: number;
  readonly atMs: number;
}

interface ScaleEvent {
  /** Pods added (scale-up history) or removed (scale-down history). */
  readonly change: number;
  readonly atMs: number;
  readonly outdated: boolean;
}

/** What the controller remembers of one autoscaler between syncs (upstream keeps it in memory too). */
export interface ScaleHistory {
  readonly recommendations: readonly Recommendation[];
  readonly scaleUpEvents: readonly ScaleEvent[];
  readonly scaleDownEvents: readonly ScaleEvent[];
}

export const emptyHistory: ScaleHistory = { recommendations: [], scaleUpEvents: [], scaleDownEvents: [] };

export interface ConditionChange {
  readonly type: 'AbleToScale' | 'ScalingLimited';
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
}

interface Normalized {
  readonly replicas: number;
  readonly conditions: readonly ConditionChange[];
  readonly history: ScaleHistory;
}

interface Rules {
  readonly stabilizationWindowSeconds: number;
  readonly selectPolicy: string;
  readonly policies: readonly { type: string; value: number; periodSeconds: number }[];
}

interface NormalizeInput {
  readonly currentReplicas: number;
  /** What the metrics ask for. */
  readonly desiredReplicas: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** spec.behavior as stored (defaulted), or undefined. */
  readonly behavior: Any | undefined;
  /** `--horizontal-pod-autoscaler-downscale-stabilization`: the window when none is given. */
  readonly downscaleStabilizationMs: number;
  readonly nowMs: number;
  readonly history: ScaleHistory;
}

/** Without behavior, a scale-up is at most to double the pods, or to 4 (upstream's scaleUpLimitFactor/Minimum). */
const scaleUpLimit = (current: number): number => Math.max(2 * current, 4);

const stabilizedCondition = (stabilized: boolean, reason: string, message: string): ConditionChange =>
  stabilized
    ? { type: 'AbleToScale', status: 'True', reason, message }
    : {
        type: 'AbleToScale',
        status: 'True',
        reason: 'ReadyForNewScale',
        message: 'recommended size matches current size',
      };

const limitedCondition = (limited: boolean, reason: string, message: string): ConditionChange => ({
  type: 'ScalingLimited',
  status: limited ? 'True' : 'False',
  reason,
  message,
});

const withinRange = {
  reason: 'DesiredWithinRange',
  message: 'the desired count is within the acceptable range',
};
const tooMany = {
  reason: 'TooManyReplicas',
  message: 'the desired replica count is more than the maximum replica count',
};
const tooFew = {
  reason: 'TooFewReplicas',
  message: 'the desired replica count is less than the minimum replica count',
};
const upLimit = {
  reason: 'ScaleUpLimit',
  message: 'the desired replica count is increasing faster than the maximum scale rate',
};
const downLimit = {
  reason: 'ScaleDownLimit',
  message: 'the desired replica count is decreasing faster than the maximum scale rate',
};
const downStabilized = {
  reason: 'ScaleDownStabilized',
  message: 'recent recommendations were higher than current one, applying the highest recent recommendation',
};
const upStabilized = {
  reason: 'ScaleUpStabilized',
  message: 'recent recommendations were lower than current one, applying the lowest recent recommendation',
};

/** Records the unstabilized recommendation, in the place of one older than `cutoff` when there is one. */
function remember(
  recommendations: readonly Recommendation[],
  isOld: (r: Recommendation) => boolean,
  latest: Recommendation,
): Recommendation[] {
  const next = [...recommendations];
  let old = -1;
  next.forEach((r, i) => {
    if (isOld(r)) old = i;
  });
  if (old >= 0) next[old] = latest;
  else next.push(latest);
  return next;
}

/** Without behavior: the scale-down window only, then the double-or-4 limit (upstream's normalizeDesiredReplicas). */
function normalizeWithoutBehavior(input: NormalizeInput): Normalized {
  const cutoff = input.nowMs - input.downscaleStabilizationMs;
  let stabilized = input.desiredReplicas;
  for (const r of input.history.recommendations)
    if (r.atMs >= cutoff && r.replicas > stabilized) stabilized = r.replicas;
  const recommendations = remember(input.history.recommendations, (r) => r.atMs < cutoff, {
    replicas: input.desiredReplicas,
    atMs: input.nowMs,
  });
  const able = stabilizedCondition(stabilized !== input.desiredReplicas, downStabilized.reason, downStabilized.message);
  const limit = scaleUpLimit(input.currentReplicas);
  const maximum = Math.min(input.maxReplicas, limit);
  const whyMax = input.maxReplicas > limit ? upLimit : tooMany;
  let replicas = stabilized;
  let why = withinRange;
  if (stabilized < input.minReplicas) {
    replicas = input.minReplicas;
    why = tooFew;
  } else if (stabilized > maximum) {
    replicas = maximum;
    why = whyMax;
  }
  return {
    replicas,
    conditions: [able, limitedCondition(replicas !== stabilized, why.reason, why.message)],
    history: { ...input.history, recommendations },
  };
}

/** Pods changed by the events inside the last `periodSeconds`. */
function changedWithin(events: readonly ScaleEvent[], periodSeconds: number, nowMs: number): number {
  const cutoff = nowMs - periodSeconds * 1000;
  return events.filter((e) => e.atMs > cutoff).reduce((sum, e) => sum + e.change, 0);
}

/** The most pods the scale-up policies allow now (upstream's calculateScaleUpLimitWithScalingRules). */
function scaleUpAllowed(current: number, history: ScaleHistory, rules: Rules, nowMs: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const pick = rules.selectPolicy === 'Min' ? Math.min : Math.max;
  let result: number | undefined;
  for (const policy of rules.policies) {
    const periodStart =
      current -
      changedWithin(history.scaleUpEvents, policy.periodSeconds, nowMs) +
      changedWithin(history.scaleDownEvents, policy.periodSeconds, nowMs);
    const proposed =
      policy.type === 'Pods' ? periodStart + policy.value : Math.ceil(periodStart * (1 + policy.value / 100));
    result = result === undefined ? proposed : pick(result, proposed);
  }
  return result ?? current;
}

/** The fewest pods the scale-down policies allow now (upstream's calculateScaleDownLimitWithBehaviors). */
function scaleDownAllowed(current: number, history: ScaleHistory, rules: Rules, nowMs: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const pick = rules.selectPolicy === 'Min' ? Math.max : Math.min;
  let result: number | undefined;
  for (const policy of rules.policies) {
    const periodStart =
      current +
      changedWithin(history.scaleDownEvents, policy.periodSeconds, nowMs) -
      changedWithin(history.scaleUpEvents, policy.periodSeconds, nowMs);
    const proposed =
      policy.type === 'Pods' ? periodStart - policy.value : Math.trunc(periodStart * (1 - policy.value / 100));
    result = result === undefined ? proposed : pick(result, proposed);
  }
  return result ?? current;
}

function rulesOf(raw: Any | undefined, windowSeconds: number): Rules {
  return {
    stabilizationWindowSeconds:
      typeof raw?.stabilizationWindowSeconds === 'number' ? raw.stabilizationWindowSeconds : windowSeconds,
    selectPolicy: typeof raw?.selectPolicy === 'string' ? raw.selectPolicy : 'Max',
    policies: Array.isArray(raw?.policies) ? raw.policies : [],
  };
}

/** With behavior: both stabilization windows, then the policies' rates (upstream's normalizeDesiredReplicasWithBehaviors). */
function normalizeWithBehavior(input: NormalizeInput, behavior: Any): Normalized {
  const up = rulesOf(behavior.scaleUp, 0);
  // an unset scale-down window is the controller's flag, as upstream fills it in
  const down = rulesOf(behavior.scaleDown, Math.round(input.downscaleStabilizationMs / 1000));
  const upCutoff = input.nowMs - up.stabilizationWindowSeconds * 1000;
  const downCutoff = input.nowMs - down.stabilizationWindowSeconds * 1000;
  let upRecommendation = input.desiredReplicas;
  let downRecommendation = input.desiredReplicas;
  for (const r of input.history.recommendations) {
    if (r.atMs > upCutoff) upRecommendation = Math.min(upRecommendation, r.replicas);
    if (r.atMs > downCutoff) downRecommendation = Math.max(downRecommendation, r.replicas);
  }
  // the current count, brought within the lowest recent scale-up and highest recent scale-down advice
  const stabilized = Math.min(Math.max(input.currentReplicas, upRecommendation), downRecommendation);
  const recommendations = remember(input.history.recommendations, (r) => r.atMs < upCutoff && r.atMs < downCutoff, {
    replicas: input.desiredReplicas,
    atMs: input.nowMs,
  });
  const stabilizedWhy = input.desiredReplicas >= input.currentReplicas ? upStabilized : downStabilized;
  const able = stabilizedCondition(stabilized !== input.desiredReplicas, stabilizedWhy.reason, stabilizedWhy.message);
  const history = { ...input.history, recommendations };
  let replicas = stabilized;
  let why = withinRange;
  if (stabilized > input.currentReplicas) {
    const allowed = Math.max(scaleUpAllowed(input.currentReplicas, history, up, input.nowMs), input.currentReplicas);
    const maximum = Math.min(input.maxReplicas, allowed);
    if (stabilized > maximum) {
      replicas = maximum;
      why = input.maxReplicas > allowed ? upLimit : tooMany;
    }
  } else if (stabilized < input.currentReplicas) {
    const allowed = Math.min(
      scaleDownAllowed(input.currentReplicas, history, down, input.nowMs),
      input.currentReplicas,
    );
    const minimum = Math.max(input.minReplicas, allowed);
    if (stabilized < minimum) {
      replicas = minimum;
      why = input.minReplicas < allowed ? downLimit : tooFew;
    }
  }
  return {
    replicas,
    conditions: [able, limitedCondition(replicas !== stabilized, why.reason, why.message)],
    history,
  };
}

export function normalizeDesiredReplicas(input: NormalizeInput): Normalized {
  return input.behavior === undefined || input.behavior === null
    ? normalizeWithoutBehavior(input)
    : normalizeWithBehavior(input, input.behavior);
}

/**
 * Remembers a scale the controller made, for the policies' periods: only with behavior (without
 * it nothing reads them), replacing an event older than the longest period when there is one.
 */
export function recordScale(
  history: ScaleHistory,
  behavior: Any | undefined,
  from: number,
  to: number,
  nowMs: number,
): ScaleHistory {
  if (behavior === undefined || behavior === null) return history;
  const upward = to > from;
  const rules = rulesOf(upward ? behavior.scaleUp : behavior.scaleDown, 0);
  const longest = Math.max(0, ...rules.policies.map((p) => p.periodSeconds));
  const cutoff = nowMs - longest * 1000;
  const events = (upward ? history.scaleUpEvents : history.scaleDownEvents).map((e) =>
    e.atMs < cutoff ? { ...e, outdated: true } : e,
  );
  const latest: ScaleEvent = { change: Math.abs(to - from), atMs: nowMs, outdated: false };
  let reuse = -1;
  events.forEach((e, i) => {
    if (e.outdated) reuse = i;
  });
  if (reuse >= 0) events[reuse] = latest;
  else events.push(latest);
  return upward ? { ...history, scaleUpEvents: events } : { ...history, scaleDownEvents: events };
}
