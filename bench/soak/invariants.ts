/**
 * What must hold after every fault, each as a pure checker: observations in, a list of problems
 * out (empty when the invariant holds). Checkers never throw and never call anything, so each is
 * tested on fixed inputs, and the runner can retry the observation until the list is empty or the
 * deadline passes.
 */
import type { Pod } from '../../kube/corev1.ts';
import { chains } from '../../netproxy/chain-names.ts';

/** A Deployment or StatefulSet, reduced to what the replica check needs. */
export interface Workload {
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  namespace: string;
  replicas: number;
  matchLabels: Record<string, string>;
}

const isReady = (pod: Pod) =>
  pod.status?.phase === 'Running' &&
  pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
const matches = (pod: Pod, labels: Record<string, string>) =>
  Object.entries(labels).every(([k, v]) => pod.metadata.labels?.[k] === v);

/** Every workload has exactly its replica count of live pods, all Running and Ready. */
export function checkWorkloads(workloads: readonly Workload[], pods: readonly Pod[]): string[] {
  const problems: string[] = [];
  for (const w of workloads) {
    const own = pods.filter(
      (p) =>
        p.metadata.namespace === w.namespace && p.metadata.deletionTimestamp === undefined && matches(p, w.matchLabels),
    );
    const ready = own.filter(isReady).length;
    if (own.length !== w.replicas || ready !== w.replicas) {
      problems.push(`${w.kind} ${w.namespace}/${w.name}: ${ready} of ${w.replicas} pods Ready (${own.length} pods)`);
    }
  }
  return problems;
}

/** One request through a Service's cluster IP, made from a pod. */
export interface ServiceProbe {
  service: string;
  clientPod: string;
  clientNode: string;
  /** The pod that answered (the backends serve their own name), when one did. */
  answeredBy?: string;
  answerNode?: string;
  error?: string;
}

/** Every Service answered at least once from a pod on another node than the client's. */
export function checkServices(services: readonly string[], probes: readonly ServiceProbe[]): string[] {
  const problems: string[] = [];
  for (const service of services) {
    const own = probes.filter((p) => p.service === service);
    if (own.some((p) => p.answerNode !== undefined && p.answerNode !== p.clientNode)) continue;
    const tried = own.map(
      (p) =>
        `${p.clientPod}@${p.clientNode} → ${p.answeredBy !== undefined ? `${p.answeredBy}@${p.answerNode ?? '?'}` : (p.error ?? 'no answer')}`,
    );
    problems.push(`Service ${service}: no answer from a pod on another node (${tried.join('; ') || 'not probed'})`);
  }
  return problems;
}

/** A pod sandbox as a node's runtime lists it. */
export interface RuntimeSandbox {
  id: string;
  podUid: string;
  podName: string;
  ready: boolean;
}

export interface RuntimeContainer {
  id: string;
  podUid: string;
  name: string;
  running: boolean;
}

/** No pod (by UID) has a ready sandbox on two nodes, or two ready sandboxes on one node. */
export function checkNoPodTwice(sandboxesByNode: Readonly<Record<string, readonly RuntimeSandbox[]>>): string[] {
  const where = new Map<string, string[]>();
  for (const [node, sandboxes] of Object.entries(sandboxesByNode)) {
    for (const s of sandboxes)
      if (s.ready) where.set(s.podUid, [...(where.get(s.podUid) ?? []), `${node}:${s.podName}:${s.id.slice(0, 12)}`]);
  }
  return [...where]
    .filter(([, places]) => places.length > 1)
    .map(([uid, places]) => `pod ${uid} runs ${places.length} times: ${places.join(', ')}`);
}

/**
 * Every write the load was told succeeded (2xx) is still there with that value or a newer one:
 * `acknowledged` holds the highest acknowledged counter per object, `stored` what a read returns now
 * (undefined when the object is gone).
 */
export function checkAcknowledgedWrites(
  acknowledged: ReadonlyMap<string, number>,
  stored: ReadonlyMap<string, number | undefined>,
): string[] {
  const problems: string[] = [];
  for (const [name, value] of acknowledged) {
    const now = stored.get(name);
    if (now === undefined) problems.push(`acknowledged write lost: ${name} (value ${value}) is gone`);
    else if (now < value) problems.push(`acknowledged write lost: ${name} holds ${now}, ${value} was acknowledged`);
  }
  return problems;
}

/** What one node holds, against the pods the API has bound to it. */
export interface NodeRuntimeState {
  node: string;
  /** UIDs of the pods the API has on this node (not yet deleted). */
  podUids: ReadonlySet<string>;
  sandboxes: readonly RuntimeSandbox[];
  containers: readonly RuntimeContainer[];
  /** `iptables-save` output of the node's namespace (nat and filter). */
  iptablesSave: string;
  /** Mount points (second field of /proc/mounts) under this node's agent and containerd folders. */
  mountPoints: readonly string[];
  /** The agent's folder of pod volumes: `<root-dir>/pods`. */
  podsDir: string;
  /** containerd's CRI state folder, where each sandbox has `sandboxes/<id>/`. */
  criStateDir: string;
}

/** BOSUN- chains that no rule jumps to; the canary is unreferenced on purpose. */
export function orphanChains(iptablesSave: string): string[] {
  const declared: string[] = [];
  const referenced = new Set<string>();
  let table = '';
  for (const line of iptablesSave.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const declaration = /^:(\S+) /.exec(line);
    if (declaration && declaration[1]!.startsWith('BOSUN-')) declared.push(`${table}/${declaration[1]}`);
    for (const jump of line.matchAll(/ -[jg] (BOSUN-\S+)/g)) referenced.add(`${table}/${jump[1]}`);
  }
  return declared.filter((c) => !referenced.has(c) && !c.endsWith(`/${chains.canary}`));
}

/**
 * Nothing outlives its pod: no ready sandbox or running container, no BOSUN- chain nothing uses, no
 * volume mount of a pod the node no longer has, no mount of a sandbox the runtime no longer lists.
 */
export function checkLeaks(nodes: readonly NodeRuntimeState[]): string[] {
  const problems: string[] = [];
  for (const n of nodes) {
    for (const s of n.sandboxes)
      if (s.ready && !n.podUids.has(s.podUid))
        problems.push(`${n.node}: leaked sandbox ${s.id.slice(0, 12)} of pod ${s.podName} (${s.podUid})`);
    for (const c of n.containers)
      if (c.running && !n.podUids.has(c.podUid))
        problems.push(`${n.node}: leaked container ${c.id.slice(0, 12)} (${c.name}) of pod ${c.podUid}`);
    for (const chain of orphanChains(n.iptablesSave)) problems.push(`${n.node}: leaked iptables chain ${chain}`);
    const sandboxIds = new Set(n.sandboxes.map((s) => s.id));
    for (const mount of n.mountPoints) {
      const podUid = mount.startsWith(`${n.podsDir}/`) ? mount.slice(n.podsDir.length + 1).split('/')[0]! : undefined;
      if (podUid !== undefined && !n.podUids.has(podUid)) problems.push(`${n.node}: leaked mount ${mount}`);
      const sandboxId = /\/sandboxes\/([0-9a-f]{64})\//.exec(mount.startsWith(n.criStateDir) ? mount : '')?.[1];
      if (sandboxId !== undefined && !sandboxIds.has(sandboxId)) problems.push(`${n.node}: leaked mount ${mount}`);
    }
  }
  return problems;
}

/** Every agent and the server run (RSS known); a process that died after its restart is named. */
export function checkRunning(rssByProcess: ReadonlyMap<string, number | undefined>): string[] {
  return [...rssByProcess].filter(([, kib]) => kib === undefined).map(([process]) => `${process} does not run`);
}

/** Resident memory of one process at the start and now, in KiB. */
export interface RssSample {
  process: string;
  startKiB: number;
  nowKiB: number;
}

/** Each process's RSS is within `bound` (0.2 = 20 %) of its start. */
export function checkRss(samples: readonly RssSample[], bound: number): string[] {
  return samples
    .filter((s) => s.nowKiB > s.startKiB * (1 + bound))
    .map(
      (s) =>
        `${s.process} RSS ${(s.nowKiB / 1024).toFixed(1)} MiB, more than ${Math.round(bound * 100)} % over its start ${(s.startKiB / 1024).toFixed(1)} MiB`,
    );
}
