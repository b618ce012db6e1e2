/**
 * From a route's Service port to the endpoints the proxy may send to, read from the service
 * proxy's own state (its EndpointSlice cache, as of its last sync): ready endpoints only, never
 * terminating ones, so a pod going away gets no new request once its slice says so. Picks them in
 * turn (round robin per Service port) and hands out a second one for the single retry.
 */
import type { Endpoint, ServicePortState } from '../../netproxy/service-port.ts';
import type { RouteTarget } from './router.ts';

/** What the proxy reads: the service proxy's programmed ports by key (ServiceProxy.state). */
export interface EndpointSource {
  readonly state: ReadonlyMap<string, ServicePortState>;
}

type Resolution =
  | { readonly kind: 'endpoints'; readonly key: string; readonly endpoints: readonly Endpoint[] }
  /** The Service or its port is unknown (or headless: the service proxy does not program those). */
  | { readonly kind: 'no-service' }
  | { readonly kind: 'no-endpoints'; readonly key: string };

/** The TCP ports of each Service, indexed once per state version (the state map is replaced on each sync). */
const indexes = new WeakMap<ReadonlyMap<string, ServicePortState>, Map<string, ServicePortState[]>>();

function portsOf(state: ReadonlyMap<string, ServicePortState>, service: string): readonly ServicePortState[] {
  let index = indexes.get(state);
  if (index === undefined) {
    index = new Map();
    for (const port of state.values()) {
      if (port.protocol !== 'tcp') continue;
      const list = index.get(port.service);
      if (list === undefined) index.set(port.service, [port]);
      else list.push(port);
    }
    indexes.set(state, index);
  }
  return index.get(service) ?? [];
}

/** Pure: the usable endpoints of the route's Service port. */
export function resolve(state: ReadonlyMap<string, ServicePortState>, target: RouteTarget): Resolution {
  const port = portsOf(state, `${target.namespace}/${target.service}`).find((p) =>
    target.portName !== undefined ? p.portName === target.portName : p.port === target.portNumber,
  );
  if (port === undefined) return { kind: 'no-service' };
  const endpoints = port.endpoints.filter((e) => e.ready && !e.terminating);
  if (endpoints.length === 0) return { kind: 'no-endpoints', key: port.key };
  return { kind: 'endpoints', key: port.key, endpoints };
}

/** How long an endpoint that refused or timed out a connection is passed over (nginx's fail_timeout). */
const failedForMs = 10_000;

/**
 * Round robin over a port's endpoints; the counter survives endpoint changes (it only has to
 * spread). An endpoint whose connection failed is passed over for a while, as nginx's upstreams
 * do after a failure: until the EndpointSlice says a dead pod is gone, only the first request
 * that meets it pays the connect timeout, not every one that takes its turn.
 */
export class EndpointPicker {
  readonly #next = new Map<string, number>();
  /** `ip:port` -> when its connection failed. */
  readonly #failed = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** The endpoint for a first try, and a different one (when there is one) for the retry. */
  pick(key: string, endpoints: readonly Endpoint[]): { first: Endpoint; retry: Endpoint | undefined } {
    const now = this.#now();
    const healthy = endpoints.filter((e) => {
      const at = this.#failed.get(`${e.ip}:${e.port}`);
      return at === undefined || now - at > failedForMs;
    });
    const candidates = healthy.length > 0 ? healthy : endpoints;
    const at = this.#next.get(key) ?? 0;
    this.#next.set(key, (at + 1) % 1_000_000_007);
    const first = candidates[at % candidates.length]!;
    const retry = candidates.length > 1 ? candidates[(at + 1) % candidates.length] : undefined;
    return { first, retry };
  }

  /** A connection to the endpoint failed: pass it over for a while. */
  failed(endpoint: Endpoint): void {
    this.#failed.set(`${endpoint.ip}:${endpoint.port}`, this.#now());
    if (this.#failed.size > 10_000) {
      const now = this.#now();
      for (const [id, at] of this.#failed) if (now - at > failedForMs) this.#failed.delete(id);
    }
  }
}
