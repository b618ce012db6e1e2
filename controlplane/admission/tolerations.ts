/**
 * DefaultTolerationSeconds: every pod tolerates the not-ready and unreachable NoExecute taints for
 * 300 s unless it says otherwise, so a short node hiccup does not evict everything at once. The
 * two times are kube-apiserver's --default-not-ready-toleration-seconds and
 * --default-unreachable-toleration-seconds.
 */
type Toleration = { key?: string; operator?: string; effect?: string; tolerationSeconds?: number; value?: string };

const notReadyTaint = 'node.kubernetes.io/not-ready';
const unreachableTaint = 'node.kubernetes.io/unreachable';

export interface DefaultTolerationSeconds {
  readonly notReady: number;
  readonly unreachable: number;
}

const defaultTolerationSeconds: DefaultTolerationSeconds = { notReady: 300, unreachable: 300 };

export function addDefaultTolerations(
  spec: { tolerations?: Toleration[] },
  seconds: DefaultTolerationSeconds = defaultTolerationSeconds,
): void {
  const tolerations = (spec.tolerations ??= []);
  const covers = (key: string) =>
    tolerations.some(
      (t) =>
        (t.operator === 'Exists' && (t.key === undefined || t.key === '')) ||
        (t.key === key && (t.effect === undefined || t.effect === '' || t.effect === 'NoExecute')),
    );
  for (const [key, tolerationSeconds] of [
    [notReadyTaint, seconds.notReady],
    [unreachableTaint, seconds.unreachable],
  ] as const) {
    if (!covers(key)) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds });
  }
}
