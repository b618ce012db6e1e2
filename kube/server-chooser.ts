/**
 * Which API server a client with several of them talks to, as the k3s agent's load balancer picks:
 * sticky to one server while it is healthy (its watches and connection pool stay where they are),
 * moving to the next healthy one in list order the moment the current one fails a health check or a
 * connection, never moving back just because an earlier one recovered. Pure: the balancer
 * (server-balancer.ts) feeds it what it observed and carries out what it decides.
 */

export interface ChooserState {
  /** Every server, in the order they are tried. */
  readonly servers: readonly string[];
  /** The one new connections go to; undefined only when there is no server at all. */
  readonly current: string | undefined;
  /** Servers whose last health check or connection failed. */
  readonly down: ReadonlySet<string>;
}

export type ChooserEvent =
  /** A health check's result. */
  | { readonly kind: 'probed'; readonly server: string; readonly ok: boolean }
  /** A connection to the server could not be made, or broke with an error. */
  | { readonly kind: 'failed'; readonly server: string }
  /** The list of servers changed (configured ones plus those the cluster advertises). */
  | { readonly kind: 'servers'; readonly servers: readonly string[] };

interface Choice {
  readonly state: ChooserState;
  /** Set when the current server changed: connections still open to this one are to be closed. */
  readonly leaving?: string;
}

export function initialChooserState(servers: readonly string[]): ChooserState {
  const unique = [...new Set(servers)];
  return { servers: unique, current: unique[0], down: new Set() };
}

/** The first server after `from` (wrapping round) that is not down; `from` itself last. */
function nextUp(servers: readonly string[], down: ReadonlySet<string>, from: string | undefined): string | undefined {
  const start = from === undefined ? -1 : servers.indexOf(from);
  for (let step = 1; step <= servers.length; step++) {
    const candidate = servers[(start + step + servers.length) % servers.length]!;
    if (!down.has(candidate)) return candidate;
  }
  return undefined;
}

/** Moves off the current server when it is down or gone; with every server down, stays put. */
function settle(servers: readonly string[], down: ReadonlySet<string>, current: string | undefined): Choice {
  const present = current !== undefined && servers.includes(current);
  let next = current;
  if (!present || down.has(current))
    next = nextUp(servers, down, present ? current : undefined) ?? (present ? current : servers[0]);
  const state = { servers, down, current: next };
  return next !== current && current !== undefined ? { state, leaving: current } : { state };
}

export function choose(state: ChooserState, event: ChooserEvent): Choice {
  switch (event.kind) {
    case 'servers': {
      const servers = [...new Set(event.servers)];
      const down = new Set([...state.down].filter((s) => servers.includes(s)));
      return settle(servers, down, state.current);
    }
    case 'probed':
    case 'failed': {
      if (!state.servers.includes(event.server)) return { state };
      const down = new Set(state.down);
      if (event.kind === 'probed' && event.ok) down.delete(event.server);
      else down.add(event.server);
      return settle(state.servers, down, state.current);
    }
  }
}
