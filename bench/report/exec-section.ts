/**
 * The report's "Where a kubectl exec goes" section, from the exec suite's result: each step of the
 * path next to the same run's raw ExecSync, so a miss of the exec target shows which part is
 * kubectl's own, which the runtime's streaming and which bosun's (the API server, the kubelet port
 * and the connections between them). Pure: result in, Markdown lines out.
 */
type Result = Record<string, unknown>;

const ms = (value: unknown) => (typeof value === 'number' ? `${value} ms` : '—');

export function execSection(result: Result | undefined): string[] {
  if (result === undefined || typeof result.runtime_exec_p50_ms !== 'number') return [];
  const raw = result.raw_execsync_p50_ms;
  const times = (value: unknown) =>
    typeof value === 'number' && typeof raw === 'number' && raw > 0 ? `${(value / raw).toFixed(2)}×` : '—';
  const rows: [string, unknown][] = [
    ['CRI ExecSync (baseline)', raw],
    ["runtime's streaming exec alone (CRI Exec + websocket to containerd, on the node)", result.runtime_exec_p50_ms],
    ['websocket v5 through API server and kubelet port (no kubectl)', result.websocket_exec_p50_ms],
    ['… of which bosun (API server, kubelet port, their connections)', result.bosun_added_p50_ms],
    ['`kubectl version --client` (kubectl process start)', result.kubectl_start_p50_ms],
    ['`kubectl get pod` (start, TLS handshake, one GET)', result.kubectl_get_pod_p50_ms],
    ['`kubectl exec -- true`', result.kubectl_exec_p50_ms],
  ];
  const lines = [
    '## Where a kubectl exec goes',
    '',
    'p50 of each step, measured interleaved in one run of the exec suite; ratios against CRI ExecSync.',
    '',
    '| step | p50 | / ExecSync |',
    '|---|---|---|',
    ...rows.map(([label, value]) => `| ${label} | ${ms(value)} | ${times(value)} |`),
  ];
  const byRelease = result.kubectl_exec_by_release_p50_ms as Record<string, number> | undefined;
  if (byRelease && Object.keys(byRelease).length > 0)
    lines.push(
      '',
      `\`kubectl exec -- true\` by release: ${Object.entries(byRelease)
        .map(([release, value]) => `${release} ${value} ms (${times(value)})`)
        .join(', ')}.`,
    );
  lines.push('');
  return lines;
}
