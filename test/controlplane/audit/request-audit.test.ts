/**
 * One request's audit events, stage by stage, without a server: RequestReceived carries no
 * response, ResponseComplete carries the bodies its level allows, a panic ends with a Panic stage,
 * a caller's Audit-ID is kept, sourceIPs follow X-Forwarded-For then the peer, and annotations
 * added during the request land on later events.
 */
import test from 'ava';
import type { IncomingMessage } from 'node:http';
import type { AuditEvent } from '../../../controlplane/audit/audit-event.ts';
import { auditPolicyFrom } from '../../../controlplane/audit/policy.ts';
import { addAuditAnnotation, RequestAudit } from '../../../controlplane/audit/request-audit.ts';

const policy = auditPolicyFrom({
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  rules: [{ level: 'RequestResponse' }],
});
const user = { name: 'alice', groups: ['system:authenticated'] };

function fakeRequest(headers: Record<string, string> = {}): IncomingMessage {
  return {
    method: 'POST',
    url: '/api/v1/namespaces/default/configmaps?dryRun=All',
    headers,
    socket: { remoteAddress: '::ffff:10.0.0.9' },
  } as unknown as IncomingMessage;
}

function audited(headers: Record<string, string> = {}): { audit: RequestAudit; events: AuditEvent[] } {
  const events: AuditEvent[] = [];
  let clock = Date.UTC(2026, 11, 7, 5, 10, 0) + 0.123456;
  const audit = new RequestAudit(
    fakeRequest(headers),
    policy,
    (e) => events.push(e),
    () => (clock += 1.5),
  );
  return { audit, events };
}

const create = {
  verb: 'create',
  path: '/api/v1/namespaces/default/configmaps',
  resource: { group: '', version: 'v1', resource: 'configmaps', subresource: '', namespace: 'default', name: '' },
  longRunning: false,
};

test('stages, bodies, timestamps and annotations', async (t) => {
  const { audit, events } = audited({
    'audit-id': 'my-trace-1',
    'x-forwarded-for': '192.0.2.7, 198.51.100.2',
    'user-agent': 'kubectl/v1.32.0',
  });
  await audit.run(async () => {
    audit.setUser(user, user);
    audit.setRequest(create);
    audit.setRequestObject({ metadata: { name: 'cm', managedFields: [] } });
    addAuditAnnotation('pod-security.kubernetes.io/audit-violations', 'none');
    audit.setResponseObject({ metadata: { name: 'cm', uid: 'u' } });
  });
  audit.complete(201);
  audit.complete(201);
  t.deepEqual(
    events.map((e) => e.stage),
    ['RequestReceived', 'ResponseComplete'],
  );
  const [received, done] = events as [AuditEvent, AuditEvent];
  t.is(received.auditID, 'my-trace-1');
  t.is(received.responseStatus, undefined);
  t.is(received.requestObject, undefined);
  t.deepEqual(received.sourceIPs, ['192.0.2.7', '198.51.100.2', '10.0.0.9']);
  t.is(received.requestReceivedTimestamp, '2026-12-07T05:10:00.001623Z');
  t.like(done, {
    level: 'RequestResponse',
    verb: 'create',
    userAgent: 'kubectl/v1.32.0',
    objectRef: { resource: 'configmaps', namespace: 'default', name: 'cm', apiVersion: 'v1' },
    responseStatus: { code: 201 },
  });
  t.deepEqual(done.requestObject, { metadata: { name: 'cm', managedFields: [] } });
  t.deepEqual(done.responseObject, { metadata: { name: 'cm', uid: 'u' } });
  t.deepEqual(done.annotations, { 'pod-security.kubernetes.io/audit-violations': 'none' });
  t.true(done.stageTimestamp > done.requestReceivedTimestamp);
});

test('a panic ends the request with a Panic stage and no ResponseComplete', (t) => {
  const { audit, events } = audited({ 'audit-id': 'not a token!' });
  audit.setUser(user, user);
  audit.setRequest(create);
  audit.panic('boom');
  audit.complete(500);
  t.deepEqual(
    events.map((e) => e.stage),
    ['RequestReceived', 'Panic'],
  );
  t.like(events[1]!, { responseStatus: { code: 500, status: 'Failure', message: 'boom' } });
  t.regex(events[0]!.auditID, /^[0-9a-f-]{36}$/, 'an unusable Audit-ID header is replaced');
});

test('impersonation: user is who authenticated, impersonatedUser whom they act as', (t) => {
  const { audit, events } = audited();
  audit.setUser(user, { name: 'jane', groups: ['system:authenticated'] });
  audit.setRequest(create);
  t.like(events[0]!, { user: { username: 'alice' }, impersonatedUser: { username: 'jane' } });
});
