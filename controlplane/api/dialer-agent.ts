/**
 * An HTTPS connection pool whose TCP connections are opened by a KubeletDialer: directly, or
 * through the egress proxy of `--kubelet-egress-socket` (upstream's egress selector sends traffic
 * to the cluster's nodes, pods and services the same way). TLS runs over the dialled socket as over
 * any other, so the pool, keep-alive and certificate checks are Node's own.
 */
import type { RequestOptions } from 'node:http';
import { Agent, type AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect, type ConnectionOptions } from 'node:tls';
import type { KubeletDialer } from './kubelet-dialer.ts';

export class DialerAgent extends Agent {
  readonly #dial: KubeletDialer;

  constructor(dial: KubeletDialer, options: AgentOptions = {}) {
    super(options);
    this.#dial = dial;
  }

  // Node's Agent takes the socket from the callback when this returns nothing (documented for
  // agent.createConnection), so the dial may take its time.
  override createConnection(
    options: RequestOptions,
    created?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    this.#dial(String(options.host ?? 'localhost'), Number(options.port ?? 443)).then(
      (raw) => created?.(null, connect({ ...(options as ConnectionOptions), socket: raw })),
      (err: Error) => created?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}
