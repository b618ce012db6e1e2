/**
 * The MutatingAdmissionWebhook and ValidatingAdmissionWebhook plugins: for each write, the
 * webhooks whose rules and selectors match are called, configurations in name order and webhooks
 * in their order. Mutating webhooks run one after the other, each seeing the previous one's
 * JSONPatch applied; one with reinvocationPolicy IfNeeded is called once more when a later one
 * changed the object. Validating webhooks run side by side and any refusal refuses the write.
 * A webhook that cannot be called refuses the write with 500 under failurePolicy Fail and is
 * skipped (and noted in the audit record) under Ignore. Warnings go to the client, audit
 * annotations to the audit event. Webhooks never see their own configuration objects.
 */
import { randomUUID } from 'node:crypto';
import { ApiError } from '../../../kube/errors.ts';
import type { KubeObject } from '../../../kube/types.ts';
import type { AdmissionRequest } from '../../api/registry.ts';
import { applyJsonPatch } from '../../api/patch.ts';
import { addAuditAnnotation, addWarning, currentUser, isDryRun } from '../../api/request-context.ts';
import { callWebhook, CallFailure, type ServiceLookups } from './client.ts';
import { anyRuleMatches, namespaceSelectorMatches, objectSelectorMatches, requestAttributes } from './matching.ts';
import { celValueFromJson } from '../../cel/values.ts';
import { evaluateMatchConditions } from './match-conditions.ts';
import { acceptedPatch } from './patch-guard.ts';
import { denialMessage, reviewOf, MalformedReview, readVerdict } from './review.ts';

type Any = Record<string, any>;

type WebhookKind = 'mutating' | 'validating';

export interface WebhookLookups extends ServiceLookups {
  /** Every Mutating/ValidatingWebhookConfiguration (from memory: read on every write). */
  configurations(kind: WebhookKind): Promise<readonly KubeObject[]>;
  namespace(name: string): Promise<KubeObject | undefined>;
}

/** A webhook together with the configuration that holds it. */
interface Hook {
  readonly configuration: string;
  readonly webhook: Any;
}

/** admissionregistration.k8s.io objects are exempt, so a broken webhook can always be removed. */
function isExempt(request: AdmissionRequest): boolean {
  return request.info.group === 'admissionregistration.k8s.io';
}

async function matchingHooks(request: AdmissionRequest, kind: WebhookKind, lookups: WebhookLookups): Promise<Hook[]> {
  if (isExempt(request)) return [];
  const configurations = [...(await lookups.configurations(kind))].sort((a, b) =>
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
  const attributes = requestAttributes(request);
  const objectLabels = request.object.metadata.labels;
  const oldLabels = request.old?.metadata.labels;
  let namespaceLabels: Record<string, string> | undefined;
  let namespaceRead = false;
  const hooks: Hook[] = [];
  for (const configuration of configurations) {
    for (const webhook of ((configuration as Any).webhooks ?? []) as Any[]) {
      if (!anyRuleMatches(webhook.rules, attributes, webhook.matchPolicy)) continue;
      if (!objectSelectorMatches(webhook.objectSelector, objectLabels, oldLabels)) continue;
      const selector = webhook.namespaceSelector as Any | undefined;
      const selects =
        selector &&
        (Object.keys(selector.matchLabels ?? {}).length > 0 || (selector.matchExpressions ?? []).length > 0);
      if (selects && attributes.namespaced && !namespaceRead) {
        namespaceLabels = (await lookups.namespace(attributes.namespace))?.metadata.labels ?? {};
        namespaceRead = true;
      }
      if (!namespaceSelectorMatches(selector, attributes, namespaceLabels, objectLabels)) continue;
      hooks.push({ configuration: configuration.metadata.name ?? '', webhook });
    }
  }
  return hooks;
}

type Outcome =
  | { readonly kind: 'answered'; readonly verdict: ReturnType<typeof readVerdict> }
  | { readonly kind: 'failed'; readonly error: ApiError }
  | { readonly kind: 'skipped' };

/** What a webhook's matchConditions see: the objects and the request as CEL values. */
function conditionBindings(request: AdmissionRequest): Record<string, unknown> {
  const { object, oldObject, ...described } = reviewOf(request, '', currentUser(), isDryRun()).request;
  return {
    object: celValueFromJson(object),
    oldObject: celValueFromJson(oldObject),
    request: celValueFromJson(described),
    authorizer: null,
  };
}

/**
 * Calls one webhook whose matchConditions hold and reads its answer; a failure becomes an error
 * or a skip by its failurePolicy.
 */
async function consult(
  request: AdmissionRequest,
  hook: Hook,
  lookups: WebhookLookups,
  kind: WebhookKind,
  position: string,
): Promise<Outcome> {
  const name = String(hook.webhook.name);
  if (isDryRun() && hook.webhook.sideEffects !== 'None' && hook.webhook.sideEffects !== 'NoneOnDryRun')
    return {
      kind: 'failed',
      error: new ApiError('BadRequest', `admission webhook ${JSON.stringify(name)} does not support dry run`),
    };
  const failedCall = (reason: string): Outcome => {
    if (hook.webhook.failurePolicy === 'Ignore') {
      addAuditAnnotation(
        `failed-open.${kind === 'mutating' ? 'mutation' : 'validating'}.webhook.admission.k8s.io/${position}`,
        name,
      );
      return { kind: 'skipped' };
    }
    return {
      kind: 'failed',
      error: new ApiError(
        'InternalError',
        `Internal error occurred: failed calling webhook ${JSON.stringify(name)}: ${reason}`,
      ),
    };
  };
  const conditions = evaluateMatchConditions(hook.webhook.matchConditions, () => conditionBindings(request));
  if ('error' in conditions) return failedCall(`failed evaluating match conditions: ${conditions.error}`);
  if (!conditions.matches) return { kind: 'skipped' };
  const uid = randomUUID();
  try {
    const answer = await callWebhook(
      hook.webhook.clientConfig ?? {},
      reviewOf(request, uid, currentUser(), isDryRun()),
      typeof hook.webhook.timeoutSeconds === 'number' ? hook.webhook.timeoutSeconds : 10,
      lookups,
    );
    return { kind: 'answered', verdict: readVerdict(answer, uid, kind === 'mutating') };
  } catch (err) {
    if (!(err instanceof CallFailure) && !(err instanceof MalformedReview)) throw err;
    return failedCall(
      err instanceof MalformedReview ? `received invalid webhook response: ${err.message}` : err.message,
    );
  }
}

/** Passes on what every answer carries besides its verdict. */
function recordNotes(hook: Hook, verdict: ReturnType<typeof readVerdict>): void {
  for (const warning of verdict.warnings) addWarning(warning);
  for (const [key, value] of Object.entries(verdict.auditAnnotations))
    addAuditAnnotation(`${hook.webhook.name}/${key}`, value);
}

function refusal(hook: Hook, status: Any | undefined): ApiError {
  const code = typeof status?.code === 'number' && status.code >= 400 ? status.code : 400;
  return ApiError.fromStatus(
    {
      ...(typeof status?.reason === 'string' && status.reason !== '' ? { reason: status.reason } : {}),
      message: denialMessage(String(hook.webhook.name), status),
    },
    code,
  );
}

/** Replaces the object's content in place: the registry keeps its reference. */
function replaceContent(target: KubeObject, source: Any): void {
  for (const key of Object.keys(target)) delete (target as Any)[key];
  Object.assign(target, source);
}

/**
 * Runs the matching mutating webhooks; returns whether any of them changed the object (the
 * caller then applies the built-in defaults again, as upstream decodes a webhook's answer).
 */
export async function runMutatingWebhooks(request: AdmissionRequest, lookups: WebhookLookups): Promise<boolean> {
  const hooks = await matchingHooks(request, 'mutating', lookups);
  if (hooks.length === 0) return false;
  let changed = false;
  let lastChange = -1;
  const call = async (hook: Hook, round: number, index: number): Promise<boolean> => {
    const position = `round_${round}_index_${index}`;
    const outcome = await consult(request, hook, lookups, 'mutating', position);
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.kind === 'skipped') return false;
    recordNotes(hook, outcome.verdict);
    if (!outcome.verdict.allowed) throw refusal(hook, outcome.verdict.status);
    if (outcome.verdict.patch === undefined || outcome.verdict.patch.length === 0) return false;
    const before = JSON.stringify(request.object);
    let patched: Any;
    try {
      patched = applyJsonPatch(request.object as never, outcome.verdict.patch as never) as Any;
    } catch (err) {
      throw new ApiError('InternalError', `Internal error occurred: ${(err as Error).message}`);
    }
    patched = acceptedPatch(request, request.object, patched);
    const mutated = JSON.stringify(patched) !== before;
    addAuditAnnotation(
      `mutation.webhook.admission.k8s.io/${position}`,
      JSON.stringify({ configuration: hook.configuration, webhook: hook.webhook.name, mutated }),
    );
    if (mutated) replaceContent(request.object, patched);
    return mutated;
  };
  for (const [index, hook] of hooks.entries()) {
    if (await call(hook, 0, index)) {
      changed = true;
      lastChange = index;
    }
  }
  // IfNeeded: called again once when a webhook after it changed the object
  for (const [index, hook] of hooks.entries())
    if (hook.webhook.reinvocationPolicy === 'IfNeeded' && index < lastChange) await call(hook, 1, index);
  return changed;
}

/** Runs the matching validating webhooks side by side; the first refusal (in webhook order) wins. */
export async function runValidatingWebhooks(request: AdmissionRequest, lookups: WebhookLookups): Promise<void> {
  const hooks = await matchingHooks(request, 'validating', lookups);
  if (hooks.length === 0) return;
  const outcomes = await Promise.all(
    hooks.map((hook, index) => consult(request, hook, lookups, 'validating', `round_0_index_${index}`)),
  );
  let firstError: ApiError | undefined;
  for (const [index, outcome] of outcomes.entries()) {
    const hook = hooks[index]!;
    if (outcome.kind === 'failed') firstError ??= outcome.error;
    if (outcome.kind !== 'answered') continue;
    recordNotes(hook, outcome.verdict);
    if (!outcome.verdict.allowed) firstError ??= refusal(hook, outcome.verdict.status);
  }
  if (firstError) throw firstError;
}
