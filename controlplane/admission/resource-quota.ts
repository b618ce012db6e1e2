/**
 * ResourceQuota accounting: what an object would add to its namespace's usage, and whether that
 * stays within every quota's hard limits. Pure: usage of the objects that exist comes in, the
 * verdict and the quotas' new `used` go out; the caller writes them.
 */
import type { Quantity } from '../../kube/corev1.ts';
import { resourceAmount } from '../../kube/quantity.ts';

type Any = Record<string, any>;
export type Usage = Record<string, number>;

/** Resources counted by object count (`count/<resource>` and the legacy short names). */
const countNames: Record<string, string[]> = {
  pods: ['pods', 'count/pods'],
  services: ['services', 'count/services'],
  configmaps: ['configmaps', 'count/configmaps'],
  secrets: ['secrets', 'count/secrets'],
  persistentvolumeclaims: ['persistentvolumeclaims', 'count/persistentvolumeclaims'],
  replicationcontrollers: ['replicationcontrollers'],
  resourcequotas: ['resourcequotas'],
};

function isTerminal(pod: Any): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** What one object uses, in base units (cpu in millicores). */
export function usageOf(resource: string, group: string, object: Any): Usage {
  const usage: Usage = {};
  const names = group === '' ? countNames[resource] : undefined;
  for (const name of names ?? [`count/${resource}${group ? `.${group}` : ''}`]) usage[name] = 1;
  if (group === '' && resource === 'pods') {
    if (isTerminal(object)) return {};
    for (const c of (object.spec?.containers ?? []) as Any[]) {
      for (const [kind, values] of [
        ['requests', c.resources?.requests],
        ['limits', c.resources?.limits],
      ] as const) {
        for (const [name, value] of Object.entries((values ?? {}) as Record<string, Quantity>)) {
          const amount = resourceAmount(name, value);
          usage[`${kind}.${name}`] = (usage[`${kind}.${name}`] ?? 0) + amount;
          if (kind === 'requests' && (name === 'cpu' || name === 'memory')) usage[name] = (usage[name] ?? 0) + amount;
        }
      }
    }
  }
  return usage;
}

export function addUsage(a: Usage, b: Usage): Usage {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function format(name: string, amount: number): string {
  return name.endsWith('cpu') || name === 'cpu'
    ? amount % 1000 === 0
      ? String(amount / 1000)
      : `${amount}m`
    : String(amount);
}

interface QuotaVerdict {
  /** One line per exceeded quota, upstream's wording. */
  readonly exceeded: string[];
  /** New status.used per quota name (only the resources each quota limits). */
  readonly used: Record<string, Record<string, string>>;
}

export function checkQuotas(quotas: readonly Any[], current: Usage, adding: Usage): QuotaVerdict {
  const exceeded: string[] = [];
  const used: Record<string, Record<string, string>> = {};
  const after = addUsage(current, adding);
  for (const quota of quotas) {
    const hard = (quota.spec?.hard ?? {}) as Record<string, Quantity>;
    const over: string[] = [];
    const requested: string[] = [];
    const usedNow: string[] = [];
    const limited: string[] = [];
    used[quota.metadata.name] = {};
    for (const [name, limitValue] of Object.entries(hard)) {
      const unit = name.endsWith('cpu') || name === 'cpu' ? 'cpu' : name;
      const limit = resourceAmount(unit, limitValue);
      const value = after[name] ?? 0;
      used[quota.metadata.name]![name] = format(name, value);
      if ((adding[name] ?? 0) > 0 && value > limit) {
        over.push(name);
        requested.push(`${name}=${format(name, adding[name]!)}`);
        usedNow.push(`${name}=${format(name, current[name] ?? 0)}`);
        limited.push(`${name}=${limitValue}`);
      }
    }
    if (over.length > 0)
      exceeded.push(
        `exceeded quota: ${quota.metadata.name}, requested: ${requested.join(',')}, used: ${usedNow.join(',')}, limited: ${limited.join(',')}`,
      );
  }
  return { exceeded, used };
}
