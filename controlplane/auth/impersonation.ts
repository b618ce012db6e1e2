/**
 * Impersonation (`kubectl --as`, `--as-group`): a caller allowed the `impersonate` verb on users
 * (and groups) is treated as the named user for the rest of the request.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from '../../kube/errors.ts';
import type { Authorizer, UserInfo } from './types.ts';

function headerList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => v.trim()).filter((v) => v !== '');
}

export async function applyImpersonation(user: UserInfo, headers: IncomingHttpHeaders, authorizer: Authorizer): Promise<UserInfo> {
  const [target, ...extra] = headerList(headers['impersonate-user']);
  const groups = headerList(headers['impersonate-group']);
  if (target === undefined) {
    if (groups.length > 0) throw new ApiError('BadRequest', 'requested impersonation of groups without a user');
    return user;
  }
  if (extra.length > 0) throw new ApiError('BadRequest', 'only one user may be impersonated');
  const check = async (resource: 'users' | 'groups', name: string) => {
    const decision = await authorizer.authorize({ user, verb: 'impersonate', resource: { group: '', resource, subresource: '', namespace: '', name } });
    if (!decision.allowed) {
      throw new ApiError('Forbidden', `${resource} "${name}" is forbidden: User "${user.name}" cannot impersonate resource "${resource}" in API group "" at the cluster scope`);
    }
  };
  await check('users', target);
  for (const group of groups) await check('groups', group);
  const impersonatedGroups = target === 'system:anonymous' ? groups : [...new Set([...groups, 'system:authenticated'])];
  return { name: target, groups: impersonatedGroups };
}
