/**
 * A candidate's holderIdentity, as upstream's components build it: the host name, an underscore
 * and a fresh UUID, so two processes on one machine (or one restarted) never share an identity.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

export function candidateIdentity(host: string = hostname()): string {
  return `${host}_${randomUUID()}`;
}
