/** A parsed API request in the terms the audit policy and events use. */
import type { ParsedRequest } from '../api/request.ts';
import { isNodeProxy, kubeletSubresources } from '../api/resources.ts';
import type { AuditedRequest } from './request-audit.ts';

export function auditedRequest(parsed: ParsedRequest, verb: string, path: string): AuditedRequest {
  if (parsed.kind === 'path') return { verb: parsed.verb, path, longRunning: false };
  const { info } = parsed;
  const streamed =
    parsed.subresource !== undefined && (kubeletSubresources.has(parsed.subresource) || isNodeProxy(parsed));
  return {
    verb,
    path,
    resource: {
      group: info.group,
      version: info.version,
      resource: info.resource,
      subresource: parsed.subresource ?? '',
      namespace: parsed.namespace ?? '',
      name: parsed.name ?? '',
    },
    longRunning: verb === 'watch' || streamed,
  };
}
