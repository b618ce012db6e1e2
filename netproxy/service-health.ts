/**
 * Health check node ports of externalTrafficPolicy: Local services. A load balancer asks each
 * node's healthCheckNodePort and sends traffic only to nodes that answer 200, i.e. nodes with a
 * local endpoint; the others answer 503. One listener per port, opened and closed as services come
 * and go.
 */
import { createServer, type Server } from 'node:http';

export interface HealthCheckTarget {
  /** `namespace/name` */
  service: string;
  localEndpoints: number;
}

/** Pure: which listeners to open and close. */
function planHealthListeners(
  open: ReadonlySet<number>,
  wanted: ReadonlyMap<number, HealthCheckTarget>,
): { add: number[]; remove: number[] } {
  return {
    add: [...wanted.keys()].filter((p) => !open.has(p)).sort((a, b) => a - b),
    remove: [...open].filter((p) => !wanted.has(p)).sort((a, b) => a - b),
  };
}

export class ServiceHealthServers {
  readonly #host: string;
  readonly #servers = new Map<number, Server>();
  #targets: ReadonlyMap<number, HealthCheckTarget> = new Map();

  /** `host`: the address to listen on (default: all). */
  constructor(host = '0.0.0.0') {
    this.#host = host;
  }

  /** Makes the listeners match `wanted`; a port that cannot be opened is reported, not thrown. */
  async update(wanted: ReadonlyMap<number, HealthCheckTarget>): Promise<{ failed: string[] }> {
    this.#targets = wanted;
    const plan = planHealthListeners(new Set(this.#servers.keys()), wanted);
    const failed: string[] = [];
    for (const port of plan.remove) {
      const server = this.#servers.get(port)!;
      this.#servers.delete(port);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    for (const port of plan.add) {
      const server = createServer((_req, res) => {
        const target = this.#targets.get(port);
        const [namespace = '', name = ''] = (target?.service ?? '/').split('/');
        const count = target?.localEndpoints ?? 0;
        res.writeHead(count > 0 ? 200 : 503, {
          'content-type': 'application/json',
          'x-content-type-options': 'nosniff',
        });
        res.end(JSON.stringify({ service: { namespace, name }, localEndpoints: count }));
      });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, this.#host, () => resolve());
        });
        this.#servers.set(port, server);
      } catch (err) {
        failed.push(`${port}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return { failed };
  }

  async close(): Promise<void> {
    await this.update(new Map());
  }
}
