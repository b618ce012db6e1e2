/**
 * bosun's version skew policy between a node agent and its API server, upstream's for the kubelet:
 * an agent is never newer than the server (servers are upgraded first), and at most three minor
 * versions older. Versions are compared by major and minor; patch releases mix freely. A server that
 * does not say its bosun version (an older build) is not judged. Pure.
 */

function majorMinor(version: string): [number, number] | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.\d+)?/.exec(version.trim());
  return match === null ? undefined : [Number(match[1]), Number(match[2])];
}

/** Why this agent may not run against this server, or undefined when it may. */
export function versionSkewProblem(agentVersion: string, serverVersion: string | undefined): string | undefined {
  if (serverVersion === undefined) return undefined;
  const agent = majorMinor(agentVersion);
  const server = majorMinor(serverVersion);
  if (agent === undefined || server === undefined) return undefined;
  const shown = (v: string) => v.replace(/^v/, '');
  if (agent[0] > server[0] || (agent[0] === server[0] && agent[1] > server[1])) {
    return `this agent runs bosun ${shown(agentVersion)} but the API server runs bosun ${shown(serverVersion)}: an agent must not be newer than its server; upgrade the server first (install.sh upgrade on the control plane machine)`;
  }
  if (agent[0] < server[0] || server[1] - agent[1] > 3) {
    return `this agent runs bosun ${shown(agentVersion)}, more than three minor versions older than the API server's bosun ${shown(serverVersion)}: upgrade this node (install.sh upgrade)`;
  }
  return undefined;
}
