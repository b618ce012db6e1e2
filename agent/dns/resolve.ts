/**
 * Answers one DNS question from the zone index (pure): an answer of ours, NXDOMAIN/NODATA with the
 * zone's SOA (so resolvers cache the negative answer), or "forward" for names outside the cluster.
 */
import type { Answer } from 'dns-packet';
import { isIPv4 } from 'node:net';
import { normalizeName, type DnsRecord, type ZoneIndex } from './records.ts';

type Resolution =
  | { kind: 'answer'; rcode: 'NOERROR' | 'NXDOMAIN'; answers: Answer[]; authorities: Answer[]; additionals: Answer[] }
  | { kind: 'forward' };

interface ResolveOptions {
  /** TTL of the answers we give (cluster DNS servers use a few seconds so changes show quickly). */
  ttl: number;
  /** SOA serial: anything that grows when the zone changes. */
  serial: number;
}

function toAnswer(name: string, record: DnsRecord, ttl: number): Answer {
  switch (record.type) {
    case 'A':
    case 'AAAA':
      return { type: record.type, name, ttl, class: 'IN', data: record.address };
    case 'CNAME':
    case 'PTR':
      return { type: record.type, name, ttl, class: 'IN', data: record.target };
    case 'SRV':
      return {
        type: 'SRV',
        name,
        ttl,
        class: 'IN',
        data: { priority: record.priority, weight: record.weight, port: record.port, target: record.target },
      };
    case 'TXT':
      return { type: 'TXT', name, ttl, class: 'IN', data: record.text };
  }
}

function soaRecord(index: ZoneIndex, options: ResolveOptions): Answer {
  return {
    type: 'SOA',
    name: index.zone,
    ttl: options.ttl,
    class: 'IN',
    data: {
      mname: `ns.dns.${index.zone}`,
      rname: `hostmaster.${index.zone}`,
      serial: options.serial >>> 0,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: options.ttl,
    },
  };
}

/** `10-244-1-7.<ns>.pod.<zone>` names any pod address (the common "pods insecure" behaviour). */
function podAddress(name: string, zone: string): string | undefined {
  const suffix = `.pod.${zone}`;
  if (!name.endsWith(suffix)) return undefined;
  const labels = name.slice(0, -suffix.length).split('.');
  if (labels.length !== 2) return undefined;
  const address = labels[0]!.replaceAll('-', '.');
  return isIPv4(address) ? address : undefined;
}

export function resolveQuestion(
  index: ZoneIndex,
  question: { name: string; type: string },
  options: ResolveOptions,
): Resolution {
  const name = normalizeName(question.name);
  const inZone = name === index.zone || name.endsWith(`.${index.zone}`);
  const records = index.records.get(name);
  const negative = (rcode: 'NOERROR' | 'NXDOMAIN'): Resolution => ({
    kind: 'answer',
    rcode,
    answers: [],
    authorities: [soaRecord(index, options)],
    additionals: [],
  });

  if (records === undefined) {
    if (!inZone) return { kind: 'forward' }; // other names, and reverse names we do not own
    const pod = podAddress(name, index.zone);
    if (pod !== undefined) {
      if (question.type === 'A' || question.type === 'ANY') {
        return {
          kind: 'answer',
          rcode: 'NOERROR',
          answers: [toAnswer(name, { type: 'A', address: pod }, options.ttl)],
          authorities: [],
          additionals: [],
        };
      }
      return negative('NOERROR');
    }
    if (name === index.zone || index.emptyNonTerminals.has(name)) return negative('NOERROR');
    return negative('NXDOMAIN');
  }

  if (question.type === 'SOA' && name === index.zone) {
    return { kind: 'answer', rcode: 'NOERROR', answers: [soaRecord(index, options)], authorities: [], additionals: [] };
  }
  const cname = records.find((r) => r.type === 'CNAME');
  const matching =
    cname !== undefined && question.type !== 'CNAME'
      ? [cname] // the client follows the alias (ExternalName services)
      : records.filter((r) => question.type === 'ANY' || r.type === question.type);
  if (matching.length === 0) return negative('NOERROR');

  const answers = matching.map((r) => toAnswer(name, r, options.ttl));
  const additionals: Answer[] = [];
  for (const record of matching) {
    if (record.type !== 'SRV') continue;
    for (const target of index.records.get(record.target) ?? []) {
      if (target.type === 'A' || target.type === 'AAAA') additionals.push(toAnswer(record.target, target, options.ttl));
    }
  }
  return { kind: 'answer', rcode: 'NOERROR', answers, authorities: [], additionals };
}
