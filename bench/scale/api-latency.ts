/**
 * The API latency SLI from the server's own /metrics: apiserver_request_duration_seconds
 * (histogram, by verb/resource/subresource/scope) and apiserver_request_total. Two scrapes are
 * subtracted so a window measures only its own requests; quantiles are interpolated inside the
 * bucket as Prometheus' histogram_quantile does. Pure functions: text in, numbers out.
 */

interface Series {
  /** 'POST pods' or 'PUT leases' (subresource appended: 'PUT pods/status'). */
  key: string;
  verb: string;
  resource: string;
  scope: string;
  /** Cumulative counts per upper bound (seconds), +Inf last. */
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
}

export interface Scrape {
  histograms: Map<string, Series>;
  /** apiserver_request_total summed over codes, by 'VERB resource[/sub]'. */
  requests: Map<string, number>;
  /** Samples without labels (the process's memory gauges), by metric name, as last scraped. */
  gauges: Map<string, number>;
}

const unlabelledPattern = /^(\w+)\s+(\S+)$/;

const linePattern = /^(\w+)\{([^}]*)\}\s+(\S+)$/;

function labelsOf(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]!] = match[2]!;
  return labels;
}

function keyOf(labels: Record<string, string>): string {
  const resource = labels.subresource ? `${labels.resource}/${labels.subresource}` : (labels.resource ?? '');
  return `${labels.verb} ${resource}`;
}

export function parseScrape(text: string): Scrape {
  const histograms = new Map<string, Series>();
  const requests = new Map<string, number>();
  const gauges = new Map<string, number>();
  for (const line of text.split('\n')) {
    const plain = unlabelledPattern.exec(line);
    if (plain) gauges.set(plain[1]!, Number(plain[2]));
    const match = linePattern.exec(line);
    if (!match) continue;
    const [, name, labelText, valueText] = match;
    const labels = labelsOf(labelText!);
    const value = Number(valueText);
    if (name === 'apiserver_request_total') {
      const key = keyOf(labels);
      requests.set(key, (requests.get(key) ?? 0) + value);
      continue;
    }
    if (!name!.startsWith('apiserver_request_duration_seconds')) continue;
    // one series per verb+resource+scope: the SLO separates single-object from collection calls
    const seriesKey = `${keyOf(labels)}|${labels.scope ?? ''}`;
    let series = histograms.get(seriesKey);
    if (!series) {
      series = {
        key: keyOf(labels),
        verb: labels.verb ?? '',
        resource: labels.subresource ? `${labels.resource}/${labels.subresource}` : (labels.resource ?? ''),
        scope: labels.scope ?? '',
        buckets: [],
        count: 0,
        sum: 0,
      };
      histograms.set(seriesKey, series);
    }
    if (name === 'apiserver_request_duration_seconds_bucket') {
      const le = labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le);
      series.buckets.push({ le, count: value });
    } else if (name === 'apiserver_request_duration_seconds_sum') {
      series.sum = value;
    } else if (name === 'apiserver_request_duration_seconds_count') {
      series.count = value;
    }
  }
  for (const series of histograms.values()) series.buckets.sort((a, b) => a.le - b.le);
  return { histograms, requests, gauges };
}

/** What happened between two scrapes of the same server (later minus earlier). */
export function windowOf(earlier: Scrape, later: Scrape): Scrape {
  const histograms = new Map<string, Series>();
  for (const [key, after] of later.histograms) {
    const before = earlier.histograms.get(key);
    const buckets = after.buckets.map((b) => ({
      le: b.le,
      count: b.count - (before?.buckets.find((x) => x.le === b.le)?.count ?? 0),
    }));
    const count = after.count - (before?.count ?? 0);
    if (count > 0) histograms.set(key, { ...after, buckets, count, sum: after.sum - (before?.sum ?? 0) });
  }
  const requests = new Map<string, number>();
  for (const [key, value] of later.requests) {
    const delta = value - (earlier.requests.get(key) ?? 0);
    if (delta > 0) requests.set(key, delta);
  }
  return { histograms, requests, gauges: later.gauges };
}

/** The q-quantile (0..1) in seconds, interpolated linearly inside its bucket; undefined when empty. */
export function quantile(buckets: readonly { le: number; count: number }[], q: number): number | undefined {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      // the +Inf bucket has no upper edge: answer its lower one, as histogram_quantile does
      if (!Number.isFinite(bucket.le)) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      return inBucket <= 0 ? bucket.le : lowerBound + (bucket.le - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}

/** Adds several series' buckets into one (they share the server's bucket bounds). */
function mergeBuckets(series: readonly Series[]): { le: number; count: number }[] {
  const byBound = new Map<number, number>();
  for (const s of series) for (const b of s.buckets) byBound.set(b.le, (byBound.get(b.le) ?? 0) + b.count);
  return [...byBound.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
}

const mutatingVerbs = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'DELETECOLLECTION']);

interface LatencyRow {
  key: string;
  scope: string;
  count: number;
  p50_ms: number;
  p99_ms: number;
}

export interface LatencySummary {
  /** All mutating calls together, as the SLO counts them. */
  mutating: { count: number; p50_ms: number; p99_ms: number };
  /** Single-object GETs (scope resource). */
  read: { count: number; p50_ms: number; p99_ms: number };
  /** LISTs, for information (the SLO's collection bound is 30 s). */
  list: { count: number; p50_ms: number; p99_ms: number };
  /** Per verb and resource, busiest first. */
  rows: LatencyRow[];
}

const ms = (seconds: number | undefined) => Math.round((seconds ?? 0) * 10_000) / 10;

function aggregate(series: readonly Series[]): { count: number; p50_ms: number; p99_ms: number } {
  const buckets = mergeBuckets(series);
  return { count: buckets.at(-1)?.count ?? 0, p50_ms: ms(quantile(buckets, 0.5)), p99_ms: ms(quantile(buckets, 0.99)) };
}

export function summarize(window: Scrape): LatencySummary {
  const all = [...window.histograms.values()];
  const rows = all
    .map((s) => ({
      key: s.key,
      scope: s.scope,
      count: s.count,
      p50_ms: ms(quantile(s.buckets, 0.5)),
      p99_ms: ms(quantile(s.buckets, 0.99)),
    }))
    .sort((a, b) => b.count - a.count);
  return {
    mutating: aggregate(all.filter((s) => mutatingVerbs.has(s.verb))),
    read: aggregate(all.filter((s) => s.verb === 'GET' && s.scope === 'resource')),
    list: aggregate(all.filter((s) => s.verb === 'LIST')),
    rows,
  };
}
