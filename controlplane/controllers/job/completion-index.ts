/**
 * Completion indexes of an Indexed Job (upstream's completionMode: Indexed): each index from 0 to
 * completions-1 must succeed once. A pod carries its index in an annotation and a label, sees it
 * as $JOB_COMPLETION_INDEX and gets the stable hostname `<job>-<index>`, so a headless Service
 * named by `subdomain` gives every index a DNS name. Index sets are written as upstream writes
 * status.completedIndexes: sorted, consecutive indexes as a range ("1,3-5").
 */
import type { Container, Pod } from '../../../kube/corev1.ts';

const completionIndexKey = 'batch.kubernetes.io/job-completion-index';
const indexEnvName = 'JOB_COMPLETION_INDEX';

/** The pod's completion index, or undefined when it has none that the Job could have given it. */
export function completionIndexOf(pod: Pod, completions: number): number | undefined {
  const text = pod.metadata.annotations?.[completionIndexKey] ?? pod.metadata.labels?.[completionIndexKey];
  if (text === undefined || !/^(0|[1-9][0-9]*)$/.test(text)) return undefined;
  const index = Number(text);
  return index < completions ? index : undefined;
}

/** A sorted set of indexes in upstream's compressed form: "0,2-4,7". */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let end = i;
    while (end + 1 < sorted.length && sorted[end + 1] === sorted[end]! + 1) end++;
    parts.push(end === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[end]}`);
    i = end + 1;
  }
  return parts.join(',');
}

/** The indexes below `completions` named by a compressed list; malformed parts name nothing. */
export function parseIndexes(text: string | undefined, completions: number): Set<number> {
  const indexes = new Set<number>();
  for (const part of (text ?? '').split(',')) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!range) continue;
    const first = Number(range[1]);
    const last = Math.min(range[2] === undefined ? first : Number(range[2]), completions - 1);
    for (let index = first; index <= last; index++) indexes.add(index);
  }
  return indexes;
}

/** The lowest `count` indexes that neither succeeded nor are taken (running, failed for good). */
export function indexesToStart(completions: number, taken: ReadonlySet<number>, count: number): number[] {
  const chosen: number[] = [];
  for (let index = 0; index < completions && chosen.length < count; index++) if (!taken.has(index)) chosen.push(index);
  return chosen;
}

function withIndexEnv(container: Container): Container {
  if (container.env?.some((e) => e.name === indexEnvName)) return container;
  const fromAnnotation = { fieldRef: { fieldPath: `metadata.annotations['${completionIndexKey}']` } };
  return { ...container, env: [...(container.env ?? []), { name: indexEnvName, valueFrom: fromAnnotation }] };
}

/**
 * The pod for one index, from the pod the template gives: the index in an annotation and a
 * label, generateName `<job>-<index>-`, hostname `<job>-<index>` and JOB_COMPLETION_INDEX in every
 * container and init container that does not set it itself (upstream's job controller does the same).
 */
export function podForIndex(pod: Pod, jobName: string, index: number): Pod {
  const text = String(index);
  const { name: _name, ...metadata } = pod.metadata;
  const spec = pod.spec;
  return {
    ...pod,
    metadata: {
      ...metadata,
      generateName: `${jobName}-${text}-`,
      annotations: { ...metadata.annotations, [completionIndexKey]: text },
      labels: { ...metadata.labels, [completionIndexKey]: text },
    },
    spec: {
      ...spec,
      hostname: `${jobName}-${text}`,
      containers: spec.containers.map(withIndexEnv),
      ...(spec.initContainers ? { initContainers: spec.initContainers.map(withIndexEnv) } : {}),
    },
  };
}
