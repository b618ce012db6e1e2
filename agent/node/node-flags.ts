/**
 * The node's flag values as the kubelet spells them: `--node-labels a=b,c=d`,
 * `--register-with-taints key=value:NoSchedule,other:NoExecute`, and
 * `--system-reserved cpu=100m,memory=256Mi`. Each parser throws a NodeFlagError naming the flag
 * and the bad entry, so the command can print one useful line.
 */
import type { Taint } from '../../kube/corev1.ts';
import { isKubeletLabel, isKubernetesLabel, kubeletLabelNamespaces, kubeletLabels } from '../../kube/node-labels.ts';
import { loadBalancerNames } from '../../kube/load-balancer-names.ts';
import { milliCpu, wholeUnits } from '../../kube/quantity.ts';
import { NodeFlagError } from '../errors.ts';

/** Resources that may be reserved, in the units the planner works in. */
export interface Reserved {
  cpuMilli: number;
  memoryBytes: number;
  ephemeralStorageBytes: number;
  pids: number;
}

export const nothingReserved: Reserved = { cpuMilli: 0, memoryBytes: 0, ephemeralStorageBytes: 0, pids: 0 };

function entries(flag: string, text: string): string[] {
  return text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
    .map((e) => {
      if (!e.includes('=') && flag !== 'register-with-taints')
        throw new NodeFlagError(`--${flag}: '${e}' is not key=value`);
      return e;
    });
}

// a label key: optional DNS prefix and a name of at most 63 characters; values the same alphabet
const labelKey = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const labelValue = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export function parseNodeLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const entry of entries('node-labels', text)) {
    const [key, value] = [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)];
    if (!labelKey.test(key)) throw new NodeFlagError(`--node-labels: '${key}' is not a label key`);
    if (!labelValue.test(value)) throw new NodeFlagError(`--node-labels: '${value}' is not a label value (for ${key})`);
    labels[key] = value;
  }
  // the API server would refuse to register the node with these (NodeRestriction): say so now
  if (loadBalancerNames.pool in labels)
    throw new NodeFlagError(
      `--node-labels: ${loadBalancerNames.pool} is the cluster's to set (kubectl label node): a node may not put itself into a load-balancer pool`,
    );
  const unknown = Object.keys(labels)
    .filter((key) => isKubernetesLabel(key) && !isKubeletLabel(key))
    .sort();
  if (unknown.length > 0) {
    throw new NodeFlagError(
      `unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [${unknown.join(' ')}]\n` +
        `--node-labels in the 'kubernetes.io' namespace must begin with an allowed prefix (${kubeletLabelNamespaces.join(', ')}) or be in the specifically allowed set (${kubeletLabels.join(', ')})`,
    );
  }
  return labels;
}

const effects = new Set(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);

export function parseTaints(text: string): Taint[] {
  return entries('register-with-taints', text).map((entry) => {
    const colon = entry.lastIndexOf(':');
    if (colon < 0) throw new NodeFlagError(`--register-with-taints: '${entry}' has no :effect`);
    const effect = entry.slice(colon + 1);
    if (!effects.has(effect))
      throw new NodeFlagError(
        `--register-with-taints: effect '${effect}' is not NoSchedule, PreferNoSchedule or NoExecute`,
      );
    const head = entry.slice(0, colon);
    const eq = head.indexOf('=');
    const key = eq < 0 ? head : head.slice(0, eq);
    if (!labelKey.test(key)) throw new NodeFlagError(`--register-with-taints: '${key}' is not a taint key`);
    return { key, ...(eq < 0 ? {} : { value: head.slice(eq + 1) }), effect: effect as Taint['effect'] };
  });
}

export function parseReserved(flag: string, text: string): Reserved {
  const reserved = { ...nothingReserved };
  for (const entry of entries(flag, text)) {
    const [name, value] = [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)];
    try {
      if (name === 'cpu') reserved.cpuMilli = milliCpu(value);
      else if (name === 'memory') reserved.memoryBytes = wholeUnits(value);
      else if (name === 'ephemeral-storage') reserved.ephemeralStorageBytes = wholeUnits(value);
      else if (name === 'pid') reserved.pids = wholeUnits(value);
      else throw new NodeFlagError(`--${flag}: '${name}' cannot be reserved (cpu, memory, ephemeral-storage, pid)`);
    } catch (err) {
      if (err instanceof NodeFlagError) throw err;
      throw new NodeFlagError(`--${flag}: ${name}=${value} is not a quantity`);
    }
  }
  return reserved;
}

export function addReserved(a: Reserved, b: Reserved): Reserved {
  return {
    cpuMilli: a.cpuMilli + b.cpuMilli,
    memoryBytes: a.memoryBytes + b.memoryBytes,
    ephemeralStorageBytes: a.ephemeralStorageBytes + b.ephemeralStorageBytes,
    pids: a.pids + b.pids,
  };
}
