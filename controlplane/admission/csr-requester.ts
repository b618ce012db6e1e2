/**
 * A certificate signing request records who asked for it: on create the server sets
 * spec.username, spec.uid and spec.groups from the authenticated user, whatever the client sent,
 * and keeps them unchanged afterwards. Approval decisions rest on these fields, so a client must
 * never be able to choose them.
 */
import type { UserInfo } from '../auth/types.ts';
import type { AdmissionRequest } from '../api/registry.ts';

type Any = Record<string, any>;

export function stampRequester(request: AdmissionRequest, user: UserInfo | undefined): void {
  const { info, operation } = request;
  if (info.group !== 'certificates.k8s.io' || info.resource !== 'certificatesigningrequests') return;
  const spec = ((request.object as Any).spec ??= {}) as Any;
  if (operation === 'CREATE') {
    spec.username = user?.name ?? '';
    spec.groups = [...(user?.groups ?? [])];
    if (user?.uid) spec.uid = user.uid;
    else delete spec.uid;
    return;
  }
  const old = (request.old as Any | undefined)?.spec as Any | undefined;
  if (old === undefined) return;
  spec.username = old.username;
  spec.groups = old.groups;
  if (old.uid !== undefined) spec.uid = old.uid;
  else delete spec.uid;
}
