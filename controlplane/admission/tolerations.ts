/**
 * DefaultTolerationSeconds: every pod tolerates the not-ready and unreachable NoExecute taints for
 * 300 s unless it says otherwise, so a short node hiccup does not evict everything at once.
 */
type Toleration = { key?: string; operator?: string; effect?: string; tolerationSeconds?: number; value?: string };

export const notReadyTaint = 'node.kubernetes.io/not-ready';
export const unreachableTaint = 'node.kubernetes.io/unreachable';

export function addDefaultTolerations(spec: { tolerations?: Toleration[] }, seconds = 300): void {
  const tolerations = (spec.tolerations ??= []);
  const covers = (key: string) =>
    tolerations.some((t) => (t.operator === 'Exists' && (t.key === undefined || t.key === '')) || (t.key === key && (t.effect === undefined || t.effect === '' || t.effect === 'NoExecute')));
  for (const key of [notReadyTaint, unreachableTaint]) {
    if (!covers(key)) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
  }
}
