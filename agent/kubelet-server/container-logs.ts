/**
 * GET /containerLogs/<namespace>/<pod>/<container>: a container's log, from the CRI log files the
 * runtime writes under <podLogDir>/<ns>_<pod>_<uid>/<container>/<restartCount>.log. The current
 * attempt is the highest number, --previous the one before it. Query parameters as upstream's
 * kubelet takes them (PodLogOptions): follow, tailLines, sinceSeconds, sinceTime, timestamps,
 * previous, limitBytes. Following ends when that attempt's container is no longer running.
 */
import { readdir } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { readLog } from '../../cri/logfile.ts';
import type { CriRuntime } from '../../cri/runtime.ts';
import type { Pod } from '../../kube/corev1.ts';
import { criAnnotation, criLabel } from '../pods/cri-labels.ts';
import { KubeletRequestError } from './request-error.ts';

interface LogOptions {
  follow: boolean;
  tailLines: number | undefined;
  sinceMs: number | undefined;
  timestamps: boolean;
  previous: boolean;
  limitBytes: number | undefined;
}

const flag = (value: string | null) => value === 'true' || value === '1';

function wholeNumber(query: URLSearchParams, name: string, min: number): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min)
    throw new KubeletRequestError(400, `${name} ${text} must be a whole number of at least ${min}`);
  return value;
}

/** The query string as PodLogOptions; 400 for values that make no sense. */
function parseLogOptions(query: URLSearchParams, nowMs: number): LogOptions {
  const sinceSeconds = wholeNumber(query, 'sinceSeconds', 1);
  const sinceTime = query.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTime)
    throw new KubeletRequestError(400, 'at most one of sinceTime or sinceSeconds may be specified');
  let sinceMs = sinceSeconds !== undefined ? nowMs - sinceSeconds * 1000 : undefined;
  if (sinceTime) {
    sinceMs = Date.parse(sinceTime);
    if (Number.isNaN(sinceMs)) throw new KubeletRequestError(400, `sinceTime ${sinceTime} is not an RFC 3339 time`);
  }
  return {
    follow: flag(query.get('follow')),
    tailLines: wholeNumber(query, 'tailLines', 0),
    sinceMs,
    timestamps: flag(query.get('timestamps')),
    previous: flag(query.get('previous')),
    limitBytes: wholeNumber(query, 'limitBytes', 1),
  };
}

/** The attempt numbers that have a log file, highest first. */
async function logAttempts(containerDir: string): Promise<number[]> {
  const names = await readdir(containerDir).catch(() => [] as string[]);
  return names
    .map((n) => /^(\d+)\.log$/.exec(n)?.[1])
    .filter((n) => n !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
}

function podLogDirectory(podLogDir: string, pod: Pod): string {
  return join(podLogDir, `${pod.metadata.namespace ?? 'default'}_${pod.metadata.name}_${pod.metadata.uid ?? ''}`);
}

export async function serveContainerLogs(options: {
  pod: Pod;
  container: string;
  query: URLSearchParams;
  podLogDir: string;
  runtime: Pick<CriRuntime, 'listContainers'>;
  res: ServerResponse;
  nowMs: number;
}): Promise<void> {
  const { pod, container, res } = options;
  const known = [
    ...(pod.spec?.initContainers ?? []),
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.ephemeralContainers ?? []),
  ].some((c) => c.name === container);
  if (!known) throw new KubeletRequestError(400, `container ${container} is not valid for pod ${pod.metadata.name}`);
  const logOptions = parseLogOptions(options.query, options.nowMs);
  const dir = join(podLogDirectory(options.podLogDir, pod), container);
  const attempts = await logAttempts(dir);
  const attempt = logOptions.previous ? attempts[1] : attempts[0];
  if (attempt === undefined) {
    if (logOptions.previous)
      throw new KubeletRequestError(
        400,
        `previous terminated container "${container}" in pod "${pod.metadata.name}" not found`,
      );
    throw new KubeletRequestError(
      400,
      `container "${container}" in pod "${pod.metadata.name}" is waiting to start: ContainerCreating`,
    );
  }
  const stillWriting = async () => {
    const running = await options.runtime.listContainers({
      state: { state: 'CONTAINER_RUNNING' },
      labelSelector: { [criLabel.podUid]: pod.metadata.uid ?? '', [criLabel.containerName]: container },
    });
    return running.some((c) => Number(c.annotations[criAnnotation.restartCount] ?? 0) === attempt);
  };
  const stop = new AbortController();
  res.on('close', () => stop.abort());
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
  // Lines are gathered and sent in chunks: one write (one HTTP chunk) per line costs ten times
  // the throughput. A pending chunk goes out after the current read, or at once when large.
  let left = logOptions.limitBytes ?? Infinity;
  let pending: string[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0 || res.destroyed) return;
    const chunk = Buffer.from(pending.join(''));
    pending = [];
    pendingBytes = 0;
    res.write(chunk);
  };
  const write = (text: string) => {
    if (left <= 0) return;
    let piece = text;
    if (piece.length > left || Buffer.byteLength(piece) > left) piece = Buffer.from(piece).subarray(0, left).toString();
    const size = Buffer.byteLength(piece);
    left -= size;
    pending.push(piece);
    pendingBytes += size;
    if (pendingBytes >= 256 * 1024) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    if (left <= 0) stop.abort();
  };
  const sink = { stdout: { write }, stderr: { write } };
  const drain = () => {
    flush();
    return res.writableNeedDrain && !res.destroyed
      ? new Promise<void>((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        })
      : Promise.resolve();
  };
  try {
    await readLog(join(dir, `${attempt}.log`), sink, {
      tail: logOptions.tailLines,
      sinceMs: logOptions.sinceMs,
      timestamps: logOptions.timestamps,
      follow: logOptions.follow && !logOptions.previous,
      stillWriting,
      signal: stop.signal,
      drain,
    });
  } finally {
    flush();
    res.end();
  }
}
