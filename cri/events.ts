/**
 * Container lifecycle events, from the runtime's GetContainerEvents stream when it has one, and
 * otherwise from relisting: list containers every `relistIntervalMs`, compare with the previous
 * list, and report the differences as the same events the stream would have sent. containerd 1.6
 * has no event stream, so the relist path is the one that runs there.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CriError } from './errors.ts';
import type { RuntimeService } from './runtime.ts';
import type { Container, ContainerEvent, ContainerEventType, ContainerState } from './types.ts';

interface WatchOptions {
  signal: AbortSignal;
  /** How often to relist when the runtime has no event stream (default 1 s, the kubelet's PLEG period). */
  relistIntervalMs?: number;
  /** Injected for tests; default: node's timers. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export type EventSource = 'stream' | 'relist';

/**
 * The events that turn snapshot `before` into snapshot `after`, in a stable order (by container
 * ID). A container seen for the first time in a later state gets every event it must have gone
 * through (created, then started, then stopped), and one that vanished while running is
 * reported stopped before deleted, so a consumer sees the same sequence however fast the
 * container moved.
 */
export function diffContainers(
  before: readonly Container[],
  after: readonly Container[],
  nowNs: number,
): ContainerEvent[] {
  const previous = new Map(before.map((c) => [c.id, c.state]));
  const events: ContainerEvent[] = [];
  const push = (containerId: string, containerEventType: ContainerEventType) =>
    events.push({ containerId, containerEventType, createdAt: nowNs, containersStatuses: [] });
  const order: Record<ContainerState, number> = {
    CONTAINER_CREATED: 0,
    CONTAINER_RUNNING: 1,
    CONTAINER_EXITED: 2,
    CONTAINER_UNKNOWN: -1,
  };
  const steps: ContainerEventType[] = ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT'];
  for (const container of [...after].sort((a, b) => a.id.localeCompare(b.id))) {
    const was = previous.get(container.id);
    const from = was === undefined ? -1 : order[was];
    const to = order[container.state];
    // An exited container that never showed as running still passed through "started".
    for (let step = from + 1; step <= to; step += 1) push(container.id, steps[step]!);
  }
  const now = new Set(after.map((c) => c.id));
  for (const [id, state] of [...previous].sort(([a], [b]) => a.localeCompare(b))) {
    if (now.has(id)) continue;
    // Stopped and removed between two lists: it still died before it went (as the kubelet's PLEG reports).
    if (state === 'CONTAINER_RUNNING') push(id, 'CONTAINER_STOPPED_EVENT');
    push(id, 'CONTAINER_DELETED_EVENT');
  }
  return events;
}

/**
 * Yields container events until `options.signal` aborts. `onSource` learns which source is in use
 * (the stream as soon as it delivers, relist at once). Relist errors that mean "runtime
 * restarting" are retried on the next tick, not thrown: an unavailable runtime is transient,
 * never container death.
 */
export async function* watchContainerEvents(
  runtime: Pick<RuntimeService, 'containerEvents' | 'listContainers'>,
  options: WatchOptions & { onSource?: (source: EventSource) => void },
): AsyncGenerator<ContainerEvent> {
  const { signal } = options;
  try {
    let announced = false;
    for await (const event of runtime.containerEvents({ signal })) {
      if (!announced) options.onSource?.('stream');
      announced = true;
      yield event;
    }
    return;
  } catch (err) {
    if ((err as CriError).code !== 'BOSUN_CRI_UNIMPLEMENTED') throw err;
  }
  options.onSource?.('relist');
  const interval = options.relistIntervalMs ?? 1000;
  const wait =
    options.sleep ?? ((ms: number, s: AbortSignal) => sleep(ms, undefined, { signal: s }).catch(() => undefined));
  let last: Container[] | undefined;
  while (!signal.aborted) {
    try {
      const current = await runtime.listContainers(undefined, { signal });
      if (last !== undefined) yield* diffContainers(last, current, Date.now() * 1e6);
      last = current;
    } catch (err) {
      if (signal.aborted) return;
      const code = (err as CriError).code;
      if (code !== 'BOSUN_CRI_UNAVAILABLE' && code !== 'BOSUN_CRI_DEADLINE_EXCEEDED') throw err;
    }
    await wait(interval, signal);
  }
}
