/**
 * A client-side load balancer for several API servers, as the k3s agent keeps one: a TCP proxy on
 * loopback that the node's clients use as their only server. TLS passes through untouched (every
 * server's certificate names 127.0.0.1), so identities and certificate checks are the clients'
 * own. New connections go to one server (server-chooser.ts: sticky, next healthy one on failure);
 * every server is health-checked (GET /readyz, verified with the cluster CA); a connection that
 * closes or fails triggers a check of its server at once, so a dead server is noticed in
 * milliseconds rather than at the next tick. Moving off a server closes the connections still
 * open to it, so that watches start again, from their resourceVersion, on the new one.
 *
 * Lifecycle: the constructor does nothing; start() listens and resolves with the URL to use;
 * close() stops listening, checking and proxying (idempotent).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Agent, request } from 'node:https';
import { choose, initialChooserState, type ChooserEvent, type ChooserState } from './server-chooser.ts';

interface BalancerOptions {
  /** https:// URLs of the servers, in the order they are preferred. */
  readonly servers: readonly string[];
  /** PEM of the cluster CA, to verify health checks. */
  readonly ca: string;
  /**
   * Health checks of the current server this often (default 2 s); the others, which matter only
   * when it fails (and are checked then at once), every `standbyProbeEvery` intervals (default 5).
   */
  readonly probeIntervalMs?: number;
  readonly standbyProbeEvery?: number;
  /** A health check that takes longer has failed (default 2 s: a busy server is not a dead one; a dead one refuses at once). */
  readonly probeTimeoutMs?: number;
  /** Told when new connections start going elsewhere. */
  readonly onSwitch?: (from: string | undefined, to: string | undefined) => void;
}

function hostPort(server: string): { host: string; port: number } {
  const url = new URL(server);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443) };
}

export class ServerBalancer {
  readonly #options: BalancerOptions;
  #state: ChooserState;
  #listener: Server | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #open = new Map<string, Set<Socket>>();
  readonly #probing = new Set<string>();
  /**
   * Health checks reuse one TLS connection per server: a new handshake for every check cost each
   * node a handshake per server every interval (about 1,500 a second for 1,000 nodes and three servers).
   */
  readonly #probeAgent = new Agent({ keepAlive: true, maxSockets: 1, timeout: 60_000 });
  #ticks = 0;

  constructor(options: BalancerOptions) {
    this.#options = options;
    this.#state = initialChooserState(options.servers);
  }

  /** Where new connections go now. */
  get current(): string | undefined {
    return this.#state.current;
  }

  get servers(): readonly string[] {
    return this.#state.servers;
  }

  async start(): Promise<string> {
    const listener = createServer((socket) => this.#proxy(socket, 0));
    this.#listener = listener;
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, '127.0.0.1', () => resolve());
    });
    const standbyEvery = Math.max(1, this.#options.standbyProbeEvery ?? 5);
    this.#timer = setInterval(() => {
      const everyServer = ++this.#ticks % standbyEvery === 0;
      for (const server of this.#state.servers) if (everyServer || server === this.#state.current) this.probe(server);
    }, this.#options.probeIntervalMs ?? 2_000);
    this.#timer.unref();
    for (const server of this.#state.servers) this.probe(server);
    const address = listener.address();
    if (address === null || typeof address === 'string') throw new Error('the balancer has no port');
    return `https://127.0.0.1:${address.port}`;
  }

  /** Replaces the list of servers (the current one stays if it is still listed and healthy). */
  setServers(servers: readonly string[]): void {
    const known = new Set(this.#state.servers);
    this.#apply({ kind: 'servers', servers });
    for (const server of this.#state.servers) if (!known.has(server)) this.probe(server);
  }

  /** One health check of `server`, unless one is under way. */
  probe(server: string): void {
    if (this.#closed || this.#probing.has(server)) return;
    this.#probing.add(server);
    const { host, port } = hostPort(server);
    const timeoutMs = this.#options.probeTimeoutMs ?? 2_000;
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      this.#probing.delete(server);
      if (!this.#closed) this.#apply({ kind: 'probed', server, ok });
    };
    const req = request(
      { host, port, path: '/readyz', method: 'GET', ca: this.#options.ca, agent: this.#probeAgent, timeout: timeoutMs },
      (res) => {
        res.resume();
        done(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy(new Error('health check timed out')));
    req.on('error', () => done(false));
    req.end();
  }

  #apply(event: ChooserEvent): void {
    const before = this.#state.current;
    const choice = choose(this.#state, event);
    this.#state = choice.state;
    if (choice.leaving !== undefined) {
      // clients notice at once and reconnect (watches resume from their resourceVersion)
      for (const socket of this.#open.get(choice.leaving) ?? []) socket.destroy();
    }
    if (this.#state.current !== before) this.#options.onSwitch?.(before, this.#state.current);
  }

  #proxy(client: Socket, attempt: number): void {
    const server = this.#state.current;
    if (this.#closed || server === undefined) {
      client.destroy();
      return;
    }
    const { host, port } = hostPort(server);
    const upstream = connect({ host, port });
    let connected = false;
    const sockets = this.#open.get(server) ?? new Set<Socket>();
    this.#open.set(server, sockets);
    sockets.add(upstream);
    upstream.once('connect', () => {
      connected = true;
      client.pipe(upstream);
      upstream.pipe(client);
    });
    // A connection that never reached its server goes on to the next one (unless every one has been
    // tried for it) or is closed, never left open: a client waiting for its TLS handshake on a
    // connection without a server waits for good. That happens when the switch away from a server
    // ends the upstream connections still being made to it, which close without an error.
    let movedOn = false;
    const moveOn = () => {
      if (movedOn) return;
      movedOn = true;
      if (attempt + 1 < this.#state.servers.length && this.#state.current !== server) this.#proxy(client, attempt + 1);
      else client.destroy();
    };
    upstream.once('close', () => {
      sockets.delete(upstream);
      if (!connected) return moveOn();
      client.destroy();
      // a server going away closes its connections first: check it now rather than at the next tick
      this.probe(server);
    });
    upstream.on('error', () => {
      if (connected) return;
      this.#apply({ kind: 'failed', server });
      moveOn();
    });
    client.on('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#probeAgent.destroy();
    this.#listener?.close();
    for (const sockets of this.#open.values()) for (const socket of sockets) socket.destroy();
  }
}
