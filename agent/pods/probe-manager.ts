/**
 * Runs a pod's probes on timers: one track per (running container, probe kind), scheduled by the
 * pure rules of probe-schedule.ts, executed by probe-runner.ts. It tells the pod worker when a
 * result changes (readiness flipped, startup passed, liveness gave up), and answers the planner's
 * and status' questions about each container (started, ready, unhealthy).
 *
 * A run never overlaps the previous one of the same track: the next is scheduled when it ends.
 */
import type { Pod, Probe } from '../../kube/corev1.ts';
import type { Clock, TimerHandle } from '../../kube/clock.ts';
import { findContainer } from './pod-containers.ts';
import { currentSandbox, podIPOf, type ObservedContainer, type ObservedPod } from './observed.ts';
import type { ContainerProbeView } from './pod-status.ts';
import {
  firstProbeTrack,
  probeDemandsRestart,
  probeMayRun,
  probeSettings,
  recordProbeOutcome,
  type ProbeKind,
  type ProbeSettings,
  type ProbeTrack,
} from './probe-schedule.ts';
import { runHandler, type ProbeTools } from './probe-runner.ts';

interface Track {
  probe: Probe;
  settings: ProbeSettings;
  state: ProbeTrack;
  timer: TimerHandle | undefined;
}

interface ContainerProbes {
  container: ObservedContainer;
  podIP: string;
  tracks: Map<ProbeKind, Track>;
}

interface ProbeManagerOptions {
  tools: ProbeTools;
  clock: Clock;
  agentStartedAt: number;
  random?: () => number;
  /** Called when a result changed; the worker syncs the pod. */
  onChange: () => void;
  /** Where probes of a hostNetwork pod go: the node's IP, which is such a pod's IP. */
  nodeIP?: string;
  /** Called on every failed or timed-out probe run (the Unhealthy event). */
  onFailure?: (container: string, kind: ProbeKind, message: string) => void;
}

const kinds: readonly ProbeKind[] = ['startup', 'liveness', 'readiness'];

export class ProbeManager {
  readonly #options: ProbeManagerOptions;
  readonly #containers = new Map<string, ContainerProbes>();
  #pod: Pod | undefined;
  #closed = false;

  constructor(options: ProbeManagerOptions) {
    this.#options = options;
  }

  /**
   * Starts tracks for running containers of the current sandbox that have none, and stops the
   * tracks of containers that no longer run. `lastKnownReady` gives the readiness the pod's
   * status last showed for a container name, kept until its first readiness probe.
   */
  reconcile(
    pod: Pod,
    observed: ObservedPod,
    lastKnownReady: (name: string, containerId: string) => boolean | undefined,
  ): void {
    if (this.#closed) return;
    this.#pod = pod;
    const sandbox = currentSandbox(observed);
    const running = observed.containers.filter((c) => c.state === 'running' && c.sandboxId === sandbox?.id);
    const runningIds = new Set(running.map((c) => c.id));
    for (const [id, entry] of this.#containers) {
      if (!runningIds.has(id)) {
        for (const track of entry.tracks.values()) track.timer?.cancel();
        this.#containers.delete(id);
      }
    }
    for (const container of running) {
      if (this.#containers.has(container.id)) continue;
      const spec = findContainer(pod, container.name)?.spec;
      if (spec === undefined) continue;
      const podIP = podIPOf(pod, sandbox, this.#options.nodeIP ?? '');
      const entry: ContainerProbes = { container, podIP, tracks: new Map() };
      const now = this.#options.clock.now();
      for (const kind of kinds) {
        const probe =
          kind === 'startup' ? spec.startupProbe : kind === 'liveness' ? spec.livenessProbe : spec.readinessProbe;
        if (probe === undefined) continue;
        const settings = probeSettings(probe, kind);
        const state = firstProbeTrack(kind, settings, {
          containerStartedAt: container.startedAt,
          now,
          agentStartedAt: this.#options.agentStartedAt,
          random: (this.#options.random ?? Math.random)(),
          ...(kind === 'readiness' ? { lastKnownReady: lastKnownReady(container.name, container.id) } : {}),
        });
        const track: Track = { probe, settings, state, timer: undefined };
        entry.tracks.set(kind, track);
      }
      this.#containers.set(container.id, entry);
      for (const [kind, track] of entry.tracks) this.#schedule(entry, kind, track);
    }
  }

  #schedule(entry: ContainerProbes, kind: ProbeKind, track: Track): void {
    if (this.#closed) return;
    const delay = Math.max(0, track.state.nextRunAt - this.#options.clock.now());
    track.timer = this.#options.clock.after(delay, () => void this.#run(entry, kind, track));
  }

  async #run(entry: ContainerProbes, kind: ProbeKind, track: Track): Promise<void> {
    track.timer = undefined;
    if (this.#closed || this.#containers.get(entry.container.id) !== entry) return;
    const startup = entry.tracks.get('startup')?.state;
    if (!probeMayRun(kind, startup)) {
      if (kind === 'startup') return; // finished: it never runs again
      track.state = { ...track.state, nextRunAt: this.#options.clock.now() + track.settings.periodMs };
      return this.#schedule(entry, kind, track);
    }
    const spec = this.#pod === undefined ? undefined : findContainer(this.#pod, entry.container.name)?.spec;
    if (spec === undefined) return;
    const outcome = await runHandler(
      track.probe,
      { containerId: entry.container.id, container: spec, podIP: entry.podIP },
      track.settings.timeoutMs,
      this.#options.tools,
    );
    if (this.#closed || this.#containers.get(entry.container.id) !== entry) return;
    const before = track.state;
    track.state = recordProbeOutcome(before, track.settings, outcome, this.#options.clock.now());
    if (outcome.kind === 'failure' || outcome.kind === 'timeout')
      this.#options.onFailure?.(entry.container.name, kind, outcome.message);
    const changed = before.result !== track.state.result || before.finished !== track.state.finished;
    if (probeDemandsRestart(track.state)) {
      // the planner kills the container; its successor gets fresh tracks
      this.#options.onChange();
      return;
    }
    if (changed) this.#options.onChange();
    if (!track.state.finished) this.#schedule(entry, kind, track);
  }

  /** What the probes say about a running container; undefined when it has no tracks. */
  view(containerId: string): ContainerProbeView | undefined {
    const entry = this.#containers.get(containerId);
    if (entry === undefined) return undefined;
    const startup = entry.tracks.get('startup')?.state;
    const liveness = entry.tracks.get('liveness')?.state;
    const readiness = entry.tracks.get('readiness')?.state;
    const view: ContainerProbeView = {
      started: startup === undefined || startup.finished,
      ready: readiness === undefined ? true : readiness.result === 'success',
    };
    const failed = [startup, liveness].find((t) => t !== undefined && probeDemandsRestart(t));
    if (failed !== undefined)
      view.unhealthy = { probe: failed.kind === 'startup' ? 'startup' : 'liveness', message: failed.lastMessage };
    return view;
  }

  views(): Map<string, ContainerProbeView> {
    const views = new Map<string, ContainerProbeView>();
    for (const id of this.#containers.keys()) views.set(id, this.view(id)!);
    return views;
  }

  close(): void {
    this.#closed = true;
    for (const entry of this.#containers.values()) for (const track of entry.tracks.values()) track.timer?.cancel();
    this.#containers.clear();
  }
}
