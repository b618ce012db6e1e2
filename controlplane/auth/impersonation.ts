/**
 * Impersonation (`kubectl --as`, `--as-group`): a caller allowed the `impersonate` verb on users
 * (and groups) is treated as the named user for the rest of the request. A service account's
 * username (`system:serviceaccount:<ns>:<name>`) is checked as upstream checks it, against
 * `impersonate` on that serviceaccount in its namespace (which `edit` and `admin` grant there), and
 * carries the service-account groups unless groups are asked for.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from '../../kube/errors.ts';
import { dns1123Label, dns1123Subdomain } from '../../kube/name-formats.ts';
import type { Authorizer, UserInfo } from './types.ts';

function headerList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => v.trim()).filter((v) => v !== '');
}

export async function applyImpersonation(
  user: UserInfo,
  headers: IncomingHttpHeaders,
  authorizer: Authorizer,
): Promise<UserInfo> {
  const [target, ...extra] = headerList(headers['impersonate-user']);
  const groups = headerList(headers['impersonate-group']);
  if (target === undefined) {
    if (groups.length > 0) throw new ApiError('BadRequest', 'requested impersonation of groups without a user');
    return user;
  }
  if (extra.length > 0) throw new ApiError('BadRequest', 'only one user may be impersonated');
  const check = async (resource: 'users' | 'groups' | 'serviceaccounts', name: string, namespace = '') => {
    const decision = await authorizer.authorize({
      user,
      verb: 'impersonate',
      resource: { group: '', resource, subresource: '', namespace, name },
    });
    if (!decision.allowed) {
      const scope = namespace === '' ? 'at the cluster scope' : `in the namespace "${namespace}"`;
      throw new ApiError(
        'Forbidden',
        `${resource} "${name}" is forbidden: User "${user.name}" cannot impersonate resource "${resource}" in API group "" ${scope}`,
      );
    }
  };
  const serviceAccount = serviceAccountOf(target);
  if (serviceAccount !== undefined) await check('serviceaccounts', serviceAccount.name, serviceAccount.namespace);
  else await check('users', target);
  for (const group of groups) await check('groups', group);
  // a service account's groups follow from its name; asked-for groups replace them, as upstream's
  const given =
    serviceAccount !== undefined && groups.length === 0
      ? ['system:serviceaccounts', `system:serviceaccounts:${serviceAccount.namespace}`]
      : groups;
  const impersonatedGroups = target === 'system:anonymous' ? given : [...new Set([...given, 'system:authenticated'])];
  return { name: target, groups: impersonatedGroups };
}

/** `system:serviceaccount:<namespace>:<name>` split as upstream splits it; undefined for other names. */
function serviceAccountOf(username: string): { namespace: string; name: string } | undefined {
  const prefix = 'system:serviceaccount:';
  if (!username.startsWith(prefix)) return undefined;
  const parts = username.slice(prefix.length).split(':');
  const [namespace, name] = parts;
  // a malformed one is just a user name (checked against `users`), as upstream's SplitUsername has it
  if (parts.length !== 2 || dns1123Label(namespace!).length > 0 || dns1123Subdomain(name!).length > 0) return undefined;
  return { namespace: namespace!, name: name! };
}
