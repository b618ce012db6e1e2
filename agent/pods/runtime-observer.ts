/**
 * Reads one pod's sandboxes and containers from the runtime and turns them into an ObservedPod.
 *
 * Cost per call: one ListPodSandbox and one ListContainers filtered by the pod's UID label, plus
 * one status call for each container or sandbox seen for the first time or in a new state. What
 * cannot change any more (an exited container's status, a sandbox's IP) is remembered, so a
 * steady pod costs two list calls per sync.
 */
import { readFile, open } from 'node:fs/promises';
import type { CriRuntime } from '../../cri/runtime.ts';
import type { Container as CriContainer, PodSandbox } from '../../cri/types.ts';
import { criAnnotation, podSelector } from './cri-labels.ts';
import {
  observedContainer,
  observedSandbox,
  type ObservedContainer,
  type ObservedPod,
  type ObservedSandbox,
} from './observed.ts';

/** The kubelet's limits: 4 KiB of termination message, or the last 80 lines / 2 KiB of log. */
const maxTerminationMessageBytes = 4096;
const fallbackLogLines = 80;
const fallbackLogBytes = 2048;

async function readTerminationMessage(file: string | undefined): Promise<string> {
  if (file === undefined || file === '') return '';
  try {
    const text = await readFile(file);
    return text.subarray(0, maxTerminationMessageBytes).toString('utf8');
  } catch {
    return '';
  }
}

/** The end of a CRI log file, without the CRI line prefix (time, stream, tag). */
async function tailOfLog(path: string): Promise<string> {
  if (path === '') return '';
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, 64 * 1024);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      const lines = buffer
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '')
        .slice(-fallbackLogLines);
      const text = lines.map((l) => l.replace(/^\S+ (?:stdout|stderr) [FP] /, '')).join('\n');
      return text.slice(-fallbackLogBytes);
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

export class RuntimeObserver {
  readonly #runtime: CriRuntime;
  readonly #finished = new Map<string, ObservedContainer>();
  readonly #live = new Map<string, { state: string; observed: ObservedContainer }>();
  readonly #sandboxIPs = new Map<string, string>();

  constructor(runtime: CriRuntime) {
    this.#runtime = runtime;
  }

  async observe(uid: string): Promise<ObservedPod> {
    const selector = podSelector(uid);
    const [sandboxes, containers] = await Promise.all([
      this.#runtime.listPodSandbox({ labelSelector: selector }),
      this.#runtime.listContainers({ labelSelector: selector }),
    ]);
    const observedSandboxes = await Promise.all(
      sandboxes
        .sort((a, b) => (b.metadata?.attempt ?? 0) - (a.metadata?.attempt ?? 0) || b.createdAt - a.createdAt)
        .map((s) => this.#sandbox(s)),
    );
    const observedContainers = (await Promise.all(containers.map((c) => this.#container(c)))).filter(
      (c): c is ObservedContainer => c !== undefined,
    );
    this.#forgetAllBut(new Set(containers.map((c) => c.id)), new Set(sandboxes.map((s) => s.id)));
    return { sandboxes: observedSandboxes, containers: observedContainers };
  }

  /** Drops what was remembered about containers of a pod that is gone. */
  forget(): void {
    this.#finished.clear();
    this.#live.clear();
    this.#sandboxIPs.clear();
  }

  async #sandbox(sandbox: PodSandbox): Promise<ObservedSandbox> {
    const seen = observedSandbox(sandbox);
    if (!seen.ready) return seen;
    let ip = this.#sandboxIPs.get(sandbox.id);
    if (ip === undefined) {
      const status = await this.#runtime.podSandboxStatus(sandbox.id);
      ip = status.status?.network?.ip ?? '';
      this.#sandboxIPs.set(sandbox.id, ip);
    }
    return { ...seen, ip };
  }

  async #container(container: CriContainer): Promise<ObservedContainer | undefined> {
    const done = this.#finished.get(container.id);
    if (done !== undefined) return done;
    const live = this.#live.get(container.id);
    if (live !== undefined && live.state === container.state && container.state === 'CONTAINER_RUNNING')
      return live.observed;
    let response;
    try {
      response = await this.#runtime.containerStatus(container.id);
    } catch (err) {
      // removed between the list and the status call: it no longer belongs to the pod
      if ((err as { code?: string }).code === 'BOSUN_CRI_NOT_FOUND') return undefined;
      throw err;
    }
    const status = response.status;
    if (status === undefined) return undefined;
    let message: string | undefined;
    if (status.state === 'CONTAINER_EXITED') {
      message = await readTerminationMessage(status.annotations[criAnnotation.terminationMessageFile]);
      if (
        message === '' &&
        status.exitCode !== 0 &&
        status.annotations[criAnnotation.terminationMessagePolicy] === 'FallbackToLogsOnError'
      ) {
        message = await tailOfLog(status.logPath);
      }
      if (message === '') message = undefined;
    }
    const observed = observedContainer(status, container.podSandboxId, message);
    if (status.state === 'CONTAINER_EXITED') this.#finished.set(container.id, observed);
    else this.#live.set(container.id, { state: status.state, observed });
    return observed;
  }

  #forgetAllBut(containerIds: Set<string>, sandboxIds: Set<string>): void {
    for (const id of this.#finished.keys()) if (!containerIds.has(id)) this.#finished.delete(id);
    for (const id of this.#live.keys()) if (!containerIds.has(id)) this.#live.delete(id);
    for (const id of this.#sandboxIPs.keys()) if (!sandboxIds.has(id)) this.#sandboxIPs.delete(id);
  }
}
