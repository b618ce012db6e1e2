/**
 * What the DNS packet library leaves to us: response codes by name, and reading a response's code
 * from its flags (the library decodes it at run time but does not type it).
 */
import type { Packet } from 'dns-packet';

export const responseCodes = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type ResponseCode = keyof typeof responseCodes;

export function rcodeOf(packet: Packet): string {
  const value = (packet.flags ?? 0) & 0xf;
  const name = (Object.keys(responseCodes) as ResponseCode[]).find((key) => responseCodes[key] === value);
  return name ?? `RCODE${value}`;
}
