/**
 * The node-local cluster DNS server: answers names of the cluster zone from the zone index (kept
 * current by the agent's Service/EndpointSlice informers), forwards other names to the node's
 * resolvers through a cache. Serves UDP and TCP on one address and port.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server as TcpServer, type Socket as TcpSocket } from 'node:net';
import { isIPv6 } from 'node:net';
import dnsPacket, { type Answer, type Packet } from 'dns-packet';
import { buildZoneIndex, type ZoneIndex } from './records.ts';
import { resolveQuestion } from './resolve.ts';
import { ResponseCache } from './cache.ts';
import { forwardQuery, type Upstream } from './forward.ts';
import { responseCodes, type ResponseCode } from './wire.ts';
import { systemClock, type Clock } from '../../kube/clock.ts';

export interface DnsServerOptions {
  address: string;
  /** 0 picks a free port (see `port` once ready). */
  port: number;
  zone?: string;
  upstreams: readonly Upstream[];
  /** TTL of cluster answers, seconds (default 5). */
  ttl?: number;
  forwardTimeoutMs?: number;
  clock?: Pick<Clock, 'now'>;
}

/** Largest UDP answer without EDNS (RFC 1035); EDNS clients announce their own limit. */
const classicUdpLimit = 512;

export class DnsServer {
  readonly #options: Required<DnsServerOptions>;
  readonly #cache: ResponseCache;
  #index: ZoneIndex;
  #serial = 1;
  #udp: UdpSocket | undefined;
  #tcp: TcpServer | undefined;
  #tcpClients = new Set<TcpSocket>();
  #port = 0;
  /** Counters, for metrics and tests. */
  readonly stats = { queries: 0, forwarded: 0, cacheHits: 0, failures: 0 };

  constructor(options: DnsServerOptions) {
    this.#options = {
      zone: 'cluster.local',
      ttl: 5,
      forwardTimeoutMs: 2_000,
      clock: systemClock,
      ...options,
    };
    this.#cache = new ResponseCache(this.#options.clock);
    this.#index = buildZoneIndex(this.#options.zone, [], []);
  }

  get port(): number {
    return this.#port;
  }

  /** Replaces the zone (the agent calls this whenever its informers change). */
  setZone(index: ZoneIndex): void {
    this.#index = index;
    this.#serial++;
  }

  async listen(): Promise<void> {
    const { address } = this.#options;
    const tcp = createServer((socket) => this.#serveTcp(socket));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.#options.port, address, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    this.#tcp = tcp;
    const tcpAddress = tcp.address();
    this.#port = typeof tcpAddress === 'object' && tcpAddress !== null ? tcpAddress.port : this.#options.port;
    const udp = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' });
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(this.#port, address, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      // nothing half-bound: the caller may try again
      this.#tcp = undefined;
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      throw err;
    }
    // a send that fails (the client's address unreachable) loses that answer, nothing more
    udp.on('error', () => {});
    udp.on('message', (message, remote) => {
      void this.#answerSafely(message, 'udp').then((reply) => {
        if (reply) udp.send(reply, remote.port, remote.address);
      });
    });
    this.#udp = udp;
  }

  async close(): Promise<void> {
    for (const client of this.#tcpClients) client.destroy();
    const udp = this.#udp;
    this.#udp = undefined;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    const tcp = this.#tcp;
    this.#tcp = undefined;
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }

  #serveTcp(socket: TcpSocket): void {
    this.#tcpClients.add(socket);
    socket.on('close', () => this.#tcpClients.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(10_000, () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + message.length);
        void this.#answerSafely(Buffer.from(message), 'tcp').then((reply) => {
          if (!reply || socket.destroyed) return;
          const length = Buffer.alloc(2);
          length.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([length, reply]));
        });
      }
    });
  }

  /**
   * One query's answer that never rejects: whatever goes wrong while answering (a record the
   * encoder cannot write, a reply that does not decode) costs that query a SERVFAIL, or nothing
   * when even that cannot be written, and never the process.
   */
  async #answerSafely(message: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    try {
      return await this.answer(message, transport);
    } catch {
      this.stats.failures++;
      try {
        return reply(dnsPacket.decode(message), 'SERVFAIL', [], [], [], false);
      } catch {
        return undefined;
      }
    }
  }

  /** Answers one wire-format query; undefined when it is not worth an answer (not a query at all). */
  async answer(message: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    this.stats.queries++;
    let query: Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      if (message.length < 12) return undefined;
      // a header we can read, a body we cannot: say FORMERR with the client's id
      return reply({ id: message.readUInt16BE(0), questions: [] }, 'FORMERR', [], [], [], false);
    }
    if (query.type !== 'query') return undefined;
    const question = query.questions?.[0];
    if (question === undefined) return reply(query, 'FORMERR', [], [], [], false);

    const resolution = resolveQuestion(this.#index, question, { ttl: this.#options.ttl, serial: this.#serial });
    let response: Buffer;
    if (resolution.kind === 'answer') {
      response = reply(
        query,
        resolution.rcode,
        resolution.answers,
        resolution.authorities,
        resolution.additionals,
        true,
      );
    } else {
      response = await this.#forward(query, message, question, transport);
    }
    return transport === 'udp' ? truncateForUdp(response, query) : response;
  }

  async #forward(
    query: Packet,
    message: Buffer,
    question: { name: string; type: string },
    transport: 'udp' | 'tcp',
  ): Promise<Buffer> {
    const key = ResponseCache.key(question.name, question.type);
    const cached = this.#cache.get(key);
    if (cached) {
      this.stats.cacheHits++;
      return reply(query, cached.rcode as ResponseCode, cached.answers, cached.authorities, cached.additionals, false);
    }
    this.stats.forwarded++;
    try {
      const raw = await forwardQuery(message, this.#options.upstreams, transport, this.#options.forwardTimeoutMs);
      const decoded = dnsPacket.decode(raw);
      if (!decoded.flag_tc) this.#cache.put(key, decoded);
      return raw;
    } catch {
      this.stats.failures++;
      return reply(query, 'SERVFAIL', [], [], [], false);
    }
  }
}

function reply(
  query: Packet,
  rcode: ResponseCode | string,
  answers: Answer[],
  authorities: Answer[],
  additionals: Answer[],
  authoritative: boolean,
): Buffer {
  const code = responseCodes[rcode as ResponseCode] ?? responseCodes.SERVFAIL;
  const recursionDesired = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags:
      (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | recursionDesired | dnsPacket.RECURSION_AVAILABLE | code,
    questions: query.questions ?? [],
    answers,
    authorities,
    additionals,
  });
}

/** Over UDP an answer larger than the client can take is cut to its header and question, with TC set. */
function truncateForUdp(response: Buffer, query: Packet): Buffer {
  const opt = query.additionals?.find((record) => record.type === 'OPT');
  const limit =
    opt && 'udpPayloadSize' in opt && typeof opt.udpPayloadSize === 'number'
      ? Math.max(classicUdpLimit, opt.udpPayloadSize)
      : classicUdpLimit;
  if (response.length <= limit) return response;
  const decoded = dnsPacket.decode(response);
  return dnsPacket.encode({
    type: 'response',
    id: decoded.id ?? 0,
    flags: (decoded.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
    questions: decoded.questions ?? [],
    answers: [],
    authorities: [],
    additionals: [],
  });
}
