/**
 * Watches pods of a namespace and tells when each one named in advance first shows every
 * container running: what the pod start-up benchmarks time (the SIG Scalability SLI's end).
 */
import type { KubeClient } from '../kube/client.ts';
import type { Pod } from '../kube/corev1.ts';
import { refs } from '../kube/resource-ref.ts';

/** Long enough for a loaded machine; a pod that never runs ends the benchmark instead of hanging it. */
const defaultDeadlineMs = 120_000;

export interface RunningPods {
  /**
   * Resolves with the milliseconds from `startedAt` (performance.now()) to the pod running;
   * rejects when it does not run within `deadlineMs`.
   */
  expect(name: string, startedAt: number, deadlineMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export async function watchRunningPods(client: KubeClient, namespace: string): Promise<RunningPods> {
  const waiting = new Map<string, { startedAt: number; resolve: (ms: number) => void; timer: NodeJS.Timeout }>();
  const abort = new AbortController();
  const list = await client.list<Pod>(refs.pods, { namespace });
  const watching = (async () => {
    try {
      for await (const event of client.watch<Pod>(refs.pods, {
        namespace,
        resourceVersion: list.metadata.resourceVersion ?? '',
        signal: abort.signal,
      })) {
        const name = event.object.metadata.name ?? '';
        const statuses = event.object.status?.containerStatuses ?? [];
        const entry = waiting.get(name);
        if (entry !== undefined && statuses.length > 0 && statuses.every((c) => c.state?.running !== undefined)) {
          waiting.delete(name);
          clearTimeout(entry.timer);
          entry.resolve(performance.now() - entry.startedAt);
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
  })();
  return {
    expect: (name, startedAt, deadlineMs = defaultDeadlineMs) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(name);
          reject(new Error(`pod ${namespace}/${name} did not show every container running within ${deadlineMs} ms`));
        }, deadlineMs);
        waiting.set(name, { startedAt, resolve, timer });
      }),
    stop: async () => {
      for (const entry of waiting.values()) clearTimeout(entry.timer);
      abort.abort();
      await watching;
    },
  };
}
