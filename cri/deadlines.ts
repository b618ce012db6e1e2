/**
 * How long each CRI call may take before we give up on it.
 *  - Inspection (list, status, stats, version) should answer in milliseconds; a runtime that needs
 *    more than 10 s is wedged, and callers (the CLI, the agent's relist) are better told so.
 *  - Calls that change state (pull, create, run a sandbox with CNI, remove) may legitimately take
 *    long: they get the kubelet's runtimeRequestTimeout, 2 minutes.
 *  - StopContainer and ExecSync carry their own timeout for the runtime; our deadline is that plus
 *    the 2 minutes, so the runtime's answer arrives before we stop waiting.
 */
export const inspectTimeoutMs = 10_000;
export const runtimeRequestTimeoutMs = 120_000;

const inspection = new Set([
  'Version',
  'Status',
  'PodSandboxStatus',
  'ListPodSandbox',
  'ListContainers',
  'ContainerStatus',
  'ContainerStats',
  'ListContainerStats',
  'PodSandboxStats',
  'ListPodSandboxStats',
  'ListImages',
  'ImageStatus',
  'ImageFsInfo',
  'Exec',
  'Attach',
  'PortForward',
  'ReopenContainerLog',
  'RuntimeConfig',
]);

/**
 * The default deadline of one call, in ms from now; undefined means no deadline (ExecSync with
 * timeout 0, which CRI defines as "run until done"; and the event stream).
 */
export function defaultTimeoutMs(method: string, runtimeSideTimeoutSec?: number): number | undefined {
  if (method === 'GetContainerEvents') return undefined;
  if (method === 'StopContainer') return (runtimeSideTimeoutSec ?? 0) * 1000 + runtimeRequestTimeoutMs;
  if (method === 'ExecSync') {
    return runtimeSideTimeoutSec ? runtimeSideTimeoutSec * 1000 + runtimeRequestTimeoutMs : undefined;
  }
  return inspection.has(method) ? inspectTimeoutMs : runtimeRequestTimeoutMs;
}
