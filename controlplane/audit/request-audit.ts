/**
 * Auditing of one request, start to finish: the HTTP front makes a RequestAudit when the request
 * arrives, tells it who asked (and whom they impersonate) and what was asked, hands it the request
 * and response bodies, and ends it with the response status. The policy's level is decided once
 * the caller and the request are known; each stage then becomes an event unless the level is None
 * or the stage is omitted.
 *
 * Code deep inside a request adds annotations with `addAuditAnnotation` (Pod Security admission:
 * `pod-security.kubernetes.io/audit-violations`, ...); they land on the events that follow.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { AuditLogWriter } from './log-writer.ts';
import { microTime } from '../../kube/api-time.ts';
import { PrometheusText } from '../../kube/prometheus-text.ts';
import {
  withoutManagedFields,
  type AuditEvent,
  type AuditUser,
  type ObjectReference,
  type ResponseStatus,
} from './audit-event.ts';
import {
  auditDecision,
  auditLevels,
  type AuditAttributes,
  type AuditDecision,
  type AuditLevel,
  type AuditPolicy,
  type AuditStage,
} from './policy.ts';

/** The caller, as authentication and impersonation left it. */
interface AuditedUser {
  readonly name: string;
  readonly groups: readonly string[];
  readonly uid?: string;
}

/** What was asked, in the API's terms. */
export interface AuditedRequest {
  readonly verb: string;
  readonly path: string;
  readonly resource?: AuditAttributes['resource'] & { readonly version: string };
  /** watch, exec, attach, port-forward, log, proxy: these also get a ResponseStarted event. */
  readonly longRunning: boolean;
}

const scope = new AsyncLocalStorage<RequestAudit>();

/** Adds an annotation to the audit events of the request being served (no-op outside one). */
export function addAuditAnnotation(key: string, value: string): void {
  scope.getStore()?.annotate(key, value);
}

/** The audit of the request being served, if it is audited. */
export function currentAudit(): RequestAudit | undefined {
  return scope.getStore();
}

const atLeast = (level: AuditLevel, wanted: AuditLevel) => auditLevels.indexOf(level) >= auditLevels.indexOf(wanted);

function auditUser(user: AuditedUser): AuditUser {
  return { username: user.name, ...(user.uid ? { uid: user.uid } : {}), groups: [...user.groups] };
}

/** X-Forwarded-For's addresses, then X-Real-Ip, then the peer (upstream's order), without duplicates. */
function sourceIPs(req: IncomingMessage): string[] {
  const forwarded = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((s) => s.trim());
  const real = String(req.headers['x-real-ip'] ?? '').trim();
  const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  return [...new Set([...forwarded, real, peer].filter((ip) => isIP(ip) !== 0))];
}

export class RequestAudit {
  readonly auditID: string;
  readonly #emit: (event: AuditEvent) => void;
  readonly #policy: AuditPolicy;
  readonly #now: () => number;
  readonly #requestURI: string;
  readonly #sourceIPs: readonly string[];
  readonly #userAgent: string | undefined;
  readonly #received: string;
  readonly #annotations: Record<string, string> = {};
  #user: AuditedUser | undefined;
  #impersonator: AuditedUser | undefined;
  #request: AuditedRequest;
  #decision: AuditDecision | undefined;
  #objectRef: ObjectReference | undefined;
  #requestObject: unknown;
  #responseObject: unknown;
  #responseStatus: ResponseStatus | undefined;
  #ended = false;

  constructor(req: IncomingMessage, policy: AuditPolicy, emit: (event: AuditEvent) => void, now: () => number) {
    this.#policy = policy;
    this.#emit = emit;
    this.#now = now;
    const given = req.headers['audit-id'];
    // a caller's own Audit-ID is kept (upstream does), when it is a sane token
    this.auditID = typeof given === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : randomUUID();
    this.#requestURI = req.url ?? '/';
    this.#sourceIPs = sourceIPs(req);
    const agent = req.headers['user-agent'];
    this.#userAgent = typeof agent === 'string' ? agent : undefined;
    this.#received = microTime(now());
    this.#request = {
      verb: (req.method ?? 'GET').toLowerCase(),
      path: new URL(this.#requestURI, 'https://localhost').pathname,
      longRunning: false,
    };
  }

  /** Runs the request's handling with this audit reachable through addAuditAnnotation. */
  run<T>(body: () => Promise<T>): Promise<T> {
    return scope.run(this, body);
  }

  annotate(key: string, value: string): void {
    this.#annotations[key] = value;
  }

  /** Who asked: the authenticated user, and the one they act as when impersonating. */
  setUser(authenticated: AuditedUser, effective: AuditedUser): void {
    const impersonating =
      authenticated.name !== effective.name || authenticated.groups.join('\n') !== effective.groups.join('\n');
    this.#user = effective;
    this.#impersonator = impersonating ? authenticated : undefined;
  }

  /** What was asked; decides the level and emits RequestReceived. */
  setRequest(request: AuditedRequest): void {
    this.#request = request;
    const r = request.resource;
    if (r !== undefined) {
      this.#objectRef = {
        resource: r.resource,
        ...(r.namespace ? { namespace: r.namespace } : {}),
        ...(r.name ? { name: r.name } : {}),
        ...(r.group ? { apiGroup: r.group } : {}),
        apiVersion: r.version,
        ...(r.subresource ? { subresource: r.subresource } : {}),
      };
    }
    this.#decide();
    this.#stage('RequestReceived');
  }

  setRequestObject(object: unknown): void {
    if (object === undefined || !atLeast(this.#decide().level, 'Metadata')) return;
    const metadata = (object as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
    if (
      this.#objectRef &&
      this.#objectRef.name === undefined &&
      typeof metadata?.name === 'string' &&
      metadata.name !== ''
    )
      this.#objectRef.name = metadata.name;
    if (atLeast(this.#decide().level, 'Request')) this.#requestObject = object;
  }

  setResponseObject(object: unknown): void {
    if (atLeast(this.#decide().level, 'RequestResponse')) this.#responseObject = object;
  }

  /** A failure's metav1.Status (successes need only their code). */
  setResponseStatus(status: { status?: string; message?: string; reason?: string; code: number }): void {
    this.#responseStatus = {
      metadata: {},
      ...(status.status ? { status: status.status } : {}),
      ...(status.message ? { message: status.message } : {}),
      ...(status.reason ? { reason: status.reason } : {}),
      code: status.code,
    };
  }

  /** A long-running request has sent its headers. */
  responseStarted(code: number): void {
    this.#responseStatus ??= { metadata: {}, code };
    this.#stage('ResponseStarted');
  }

  /** The response is done (or the connection closed); safe to call twice. */
  complete(code: number): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#responseStatus === undefined || this.#responseStatus.code !== code)
      this.#responseStatus = { ...(this.#responseStatus ?? { metadata: {} }), code };
    this.#stage('ResponseComplete');
  }

  /** The handler failed in a way no ApiError describes. */
  panic(message: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#responseStatus = { metadata: {}, status: 'Failure', message, code: 500 };
    this.#stage('Panic');
  }

  #decide(): AuditDecision {
    this.#decision ??= auditDecision(this.#policy, {
      user: this.#user,
      verb: this.#request.verb,
      path: this.#request.path,
      ...(this.#request.resource ? { resource: this.#request.resource } : {}),
    });
    return this.#decision;
  }

  #stage(stage: AuditStage): void {
    const decision = this.#decide();
    if (decision.level === 'None' || decision.omitStages.includes(stage)) return;
    const body = (object: unknown) => (decision.omitManagedFields ? withoutManagedFields(object) : object);
    const annotations = Object.keys(this.#annotations).length > 0 ? { ...this.#annotations } : undefined;
    const [user, impersonated] = this.#impersonator ? [this.#impersonator, this.#user] : [this.#user, undefined];
    this.#emit({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: decision.level,
      auditID: this.auditID,
      stage,
      requestURI: this.#requestURI,
      verb: this.#request.verb,
      user: user ? auditUser(user) : { username: '', groups: [] },
      ...(impersonated ? { impersonatedUser: auditUser(impersonated) } : {}),
      sourceIPs: this.#sourceIPs,
      ...(this.#userAgent !== undefined ? { userAgent: this.#userAgent } : {}),
      ...(this.#objectRef ? { objectRef: { ...this.#objectRef } } : {}),
      ...(stage !== 'RequestReceived' && this.#responseStatus ? { responseStatus: this.#responseStatus } : {}),
      ...(stage !== 'RequestReceived' && this.#requestObject !== undefined
        ? { requestObject: body(this.#requestObject) }
        : {}),
      ...(stage === 'ResponseComplete' && this.#responseObject !== undefined
        ? { responseObject: body(this.#responseObject) }
        : {}),
      requestReceivedTimestamp: this.#received,
      stageTimestamp: microTime(this.#now()),
      ...(annotations ? { annotations } : {}),
    });
  }
}

/** The server's auditing: a policy and a backend; makes one RequestAudit per request. */
export class Auditor {
  readonly #policy: AuditPolicy;
  readonly #log: AuditLogWriter;
  readonly #now: () => number;
  #events = 0;

  constructor(
    policy: AuditPolicy,
    log: AuditLogWriter,
    now: () => number = () => performance.timeOrigin + performance.now(),
  ) {
    this.#policy = policy;
    this.#log = log;
    this.#now = now;
  }

  begin(req: IncomingMessage): RequestAudit {
    return new RequestAudit(
      req,
      this.#policy,
      (event) => {
        this.#events++;
        this.#log.write(JSON.stringify(event));
      },
      this.#now,
    );
  }

  /** upstream's audit metrics, in Prometheus text. */
  renderMetrics(): string {
    return new PrometheusText()
      .family(
        'apiserver_audit_event_total',
        'counter',
        'Counter of audit events generated and sent to the audit backend.',
      )
      .sample('apiserver_audit_event_total', {}, this.#events)
      .family(
        'apiserver_audit_error_total',
        'counter',
        'Counter of audit events that failed to be audited properly. Plugin identifies the plugin affected by the error.',
      )
      .sample('apiserver_audit_error_total', { plugin: 'log' }, this.#log.dropped)
      .text();
  }

  close(): Promise<void> {
    return this.#log.close();
  }
}
