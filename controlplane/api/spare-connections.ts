/**
 * One connection opened ahead, per kubelet, for the next stream to it. Every exec, attach,
 * port-forward and log request opens a new TLS connection to the node's kubelet port (an upgraded
 * connection is the stream itself and cannot be reused), and that connection (the dial, the
 * handshake, both certificates checked) was a fixed part of every `kubectl exec`. After a
 * connection to a kubelet is taken, another one is opened in the background; the next request to
 * that kubelet within the idle time starts on it at once.
 *
 * A spare is handed out once, only while it is still open. While it waits, a 'readable' listener
 * watches it, so that the kubelet closing it is seen at once (a socket nobody reads would not
 * notice); a kubelet sends nothing unasked, so anything it does send (a timeout answer) closes the
 * spare. Once that listener is removed the socket is back in its first state, neither flowing nor
 * paused, for whoever reads it next (a socket left flowing, with its first reader gone, lost bytes
 * under the HTTP client's pauses and resumes). It closes by itself after the idle time, well inside the kubelet's own wait for a
 * first request (Node's headersTimeout, 60 s). clear() drops every spare and every one still
 * opening, for new client credentials and at shutdown.
 */
import type { Duplex } from 'node:stream';

type SpareSocket = Duplex & { ref(): unknown; unref(): unknown };

/** How long a spare waits for a request before it is closed. */
const defaultIdleMs = 10_000;

interface Spare<S extends SpareSocket> {
  readonly socket: S;
  readonly timer: NodeJS.Timeout;
  readonly forget: () => void;
  readonly unasked: () => void;
}

export class SpareConnections<S extends SpareSocket> {
  readonly #idleMs: number;
  readonly #spares = new Map<string, Spare<S>>();
  readonly #opening = new Set<string>();
  /** Bumped by clear(): a connection that finishes opening under an older generation is closed. */
  #generation = 0;

  constructor(idleMs = defaultIdleMs) {
    this.#idleMs = idleMs;
  }

  /** The spare for `key` if it is still fresh, taken out of the pool; otherwise undefined. */
  take(key: string): S | undefined {
    const spare = this.#spares.get(key);
    if (spare === undefined) return undefined;
    this.#spares.delete(key);
    clearTimeout(spare.timer);
    spare.socket.off('close', spare.forget).off('readable', spare.unasked);
    // the taker puts its own readers on before the next I/O event: nothing can be lost in between
    const { socket } = spare;
    if (socket.destroyed || !socket.writable || !socket.readable) {
      socket.destroy();
      return undefined;
    }
    socket.ref();
    return socket;
  }

  /** Opens a spare for `key` in the background, unless one is there or on its way. */
  prepare(key: string, open: () => Promise<S>): void {
    if (this.#spares.has(key) || this.#opening.has(key)) return;
    this.#opening.add(key);
    const generation = this.#generation;
    open().then(
      (socket) => {
        if (generation === this.#generation) this.#opening.delete(key);
        if (generation !== this.#generation || this.#spares.has(key)) {
          socket.destroy();
          return;
        }
        this.#keep(key, socket);
      },
      () => {
        // no spare this time: the next request dials as it would have anyway
        if (generation === this.#generation) this.#opening.delete(key);
      },
    );
  }

  #keep(key: string, socket: S): void {
    // an idle spare keeps no process alive and reports no error to anyone
    socket.unref();
    socket.on('error', () => socket.destroy());
    const forget = () => {
      const spare = this.#spares.get(key);
      if (spare?.socket !== socket) return;
      clearTimeout(spare.timer);
      this.#spares.delete(key);
    };
    socket.once('close', forget);
    // read() gives null at the end of the stream, which ends and closes the socket: forgotten above
    const unasked = () => {
      if (socket.read() !== null) socket.destroy();
    };
    socket.on('readable', unasked);
    const timer = setTimeout(() => socket.destroy(), this.#idleMs);
    timer.unref();
    this.#spares.set(key, { socket, timer, forget, unasked });
  }

  /** Closes every spare; the ones still opening are closed when they open. */
  clear(): void {
    this.#generation++;
    this.#opening.clear();
    for (const spare of this.#spares.values()) {
      clearTimeout(spare.timer);
      spare.socket.destroy();
    }
    this.#spares.clear();
  }

  /** Spares ready now (for tests and metrics). */
  get size(): number {
    return this.#spares.size;
  }
}
