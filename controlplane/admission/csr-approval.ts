/**
 * Who may decide a certificate signing request and who may sign it, as upstream's CSR strategies
 * and its `certificates/approval` and `certificates/signing` admission plugins have it:
 *  - on create, status is dropped (a request cannot arrive approved) and the legacy-unknown signer
 *    is refused, as the v1 API refuses it;
 *  - Approved and Denied conditions are written only through the `approval` subresource, by an
 *    identity allowed `approve` on the `signers` resource named after the signer (or
 *    `<domain>/*`); there only the conditions change;
 *  - `status.certificate` is written only through `status`, once, by an identity allowed `sign`
 *    on the signer;
 *  - Approved, Denied and Failed conditions are never removed.
 * One of bosun's own on top: a request for the group system:masters cannot be approved at all.
 */
import { ApiError } from '../../kube/errors.ts';
import type { AdmissionRequest } from '../api/registry.ts';
import type { SignerPermission } from '../auth/signer-permission.ts';
import type { UserInfo } from '../auth/types.ts';
import { legacyUnknownSigner, parseRequest, type CsrCondition, type CsrObject } from '../certificates/csr.ts';
import { mastersGroup } from '../certificates/signer-rules.ts';
import { FieldErrors } from '../validation/field-errors.ts';

const kind = 'CertificateSigningRequest';
const group = 'certificates.k8s.io';
const decisionTypes = ['Approved', 'Denied'] as const;

export async function admitCertificateRequest(
  request: AdmissionRequest,
  user: UserInfo | undefined,
  permitted: SignerPermission,
): Promise<void> {
  const { info, operation, subresource } = request;
  if (info.group !== group || info.resource !== 'certificatesigningrequests') return;
  const csr = request.object as unknown as CsrObject;
  const name = csr.metadata?.name ?? '';
  const signerName = csr.spec?.signerName ?? '';
  if (operation === 'CREATE') {
    delete csr.status;
    const errors = new FieldErrors();
    if (signerName === legacyUnknownSigner)
      errors.invalid('spec.signerName', signerName, 'the legacy signerName is not allowed via this API version');
    errors.throwIfAny(kind, group, name);
    return;
  }
  const old = request.old as unknown as CsrObject | undefined;
  if (operation !== 'UPDATE' || old === undefined || (subresource !== 'status' && subresource !== 'approval')) return;
  if (subresource === 'approval') keepAllButConditions(csr, old);

  const errors = new FieldErrors();
  for (const type of ['Approved', 'Denied', 'Failed']) {
    if (conditionsOf(csr, type).length < conditionsOf(old, type).length)
      errors.forbidden('status.conditions', `updates may not remove a condition of type "${type}"`);
  }
  if (subresource === 'status') {
    for (const type of decisionTypes) {
      const before = conditionsOf(old, type);
      const after = conditionsOf(csr, type);
      if (after.length > before.length)
        errors.forbidden('status.conditions', `updates may not add a condition of type "${type}"`);
      else if (after.length === before.length && JSON.stringify(after) !== JSON.stringify(before))
        errors.forbidden('status.conditions', `updates may not modify a condition of type "${type}"`);
    }
    const certificate = csr.status?.certificate ?? '';
    if (certificate !== (old.status?.certificate ?? '') && (old.status?.certificate ?? '') !== '') {
      errors.forbidden('status.certificate', 'updates may not modify existing certificate content');
    }
  } else if (
    conditionsOf(csr, 'Approved').length > 0 &&
    conditionsOf(csr, 'Denied').length > 0 &&
    !(conditionsOf(old, 'Approved').length > 0 && conditionsOf(old, 'Denied').length > 0)
  ) {
    errors.invalid('status.conditions', 'Approved', 'Approved and Denied conditions are mutually exclusive');
  }
  errors.throwIfAny(kind, group, name);

  const caller = user ?? { name: '', groups: [] };
  if (subresource === 'approval') {
    if (!(await permitted(caller, 'approve', signerName)))
      throw forbidden(name, `user not permitted to approve requests with signerName "${signerName}"`);
    if (conditionsOf(csr, 'Approved').length > conditionsOf(old, 'Approved').length)
      await refuseMastersApproval(csr, name);
    return;
  }
  if (
    (csr.status?.certificate ?? '') !== (old.status?.certificate ?? '') &&
    !(await permitted(caller, 'sign', signerName))
  ) {
    throw forbidden(name, `user not permitted to sign requests with signerName "${signerName}"`);
  }
}

/** The approval subresource changes the conditions and nothing else (upstream's approval strategy). */
function keepAllButConditions(csr: CsrObject, old: CsrObject): void {
  const conditions = csr.status?.conditions;
  csr.status = { ...old.status, ...(conditions !== undefined ? { conditions } : {}) };
  if (conditions === undefined) delete csr.status.conditions;
}

function conditionsOf(csr: CsrObject, type: string): CsrCondition[] {
  return (csr.status?.conditions ?? []).filter((c) => c.type === type);
}

/** No request for system:masters is ever approved: that group passes every authorization check. */
async function refuseMastersApproval(csr: CsrObject, name: string): Promise<void> {
  let organizations: string[];
  try {
    organizations = (await parseRequest(csr.spec.request)).organizations;
  } catch {
    return; // an unreadable request is never signed anyway
  }
  if (organizations.includes(mastersGroup))
    throw forbidden(name, `requests for the group ${mastersGroup} may not be approved`);
}

function forbidden(name: string, why: string): ApiError {
  return new ApiError('Forbidden', `certificatesigningrequests.${group} "${name}" is forbidden: ${why}`, {
    name,
    group,
    kind: 'certificatesigningrequests',
  });
}
