/**
 * apiregistration.k8s.io rules (upstream's kube-aggregator validation): an APIService is named
 * `<version>.<group>`, points at a Service (or at nothing: a group the server serves itself), and
 * trusts the backend either through a CA bundle or explicitly not at all, never both.
 */
import type { FieldErrors } from './field-errors.ts';
import { checkString, isSet, objectAt, type Any } from './fields.ts';
import { dns1035Label, dns1123Subdomain } from '../../kube/name-formats.ts';

export function validateApiService(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec) ?? {};
  const group = typeof spec.group === 'string' ? spec.group : '';
  const version = typeof spec.version === 'string' ? spec.version : '';
  const requiredName = `${version}.${group}`;
  if (typeof o.metadata?.name === 'string' && o.metadata.name !== requiredName)
    errors.invalid('metadata.name', o.metadata.name, `must be \`spec.version+"."+spec.group\`: "${requiredName}"`);
  if (group === '' && version !== 'v1')
    errors.required('spec.group', 'only v1 may have an empty group and it better be legacy kube');
  if (group !== '') errors.invalidEach('spec.group', group, dns1123Subdomain(group));
  errors.invalidEach('spec.version', version, dns1035Label(version));
  const groupPriority = spec.groupPriorityMinimum ?? 0;
  if (typeof groupPriority !== 'number' || groupPriority <= 0 || groupPriority > 20000)
    errors.invalid('spec.groupPriorityMinimum', groupPriority, 'must be positive and less than 20000');
  const versionPriority = spec.versionPriority ?? 0;
  if (typeof versionPriority !== 'number' || versionPriority <= 0 || versionPriority > 1000)
    errors.invalid('spec.versionPriority', versionPriority, 'must be positive and less than 1000');
  const caBundle = typeof spec.caBundle === 'string' ? Buffer.from(spec.caBundle, 'base64') : Buffer.alloc(0);
  if (!isSet(spec.service)) {
    if (caBundle.length > 0)
      errors.invalid('spec.caBundle', `${caBundle.length} bytes`, 'local APIServices may not have a caBundle');
    if (spec.insecureSkipTLSVerify === true)
      errors.invalid('spec.insecureSkipTLSVerify', true, 'local APIServices may not have insecureSkipTLSVerify');
    return;
  }
  const service = objectAt(errors, 'spec.service', spec.service) ?? {};
  checkString(errors, 'spec.service.namespace', service.namespace, undefined, true);
  checkString(errors, 'spec.service.name', service.name, undefined, true);
  if (spec.insecureSkipTLSVerify === true && caBundle.length > 0)
    errors.invalid('spec.insecureSkipTLSVerify', true, 'may not be true if caBundle is present');
}
