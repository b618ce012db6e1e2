/**
 * From a route to endpoints: the Service port by name or number from the service proxy's state,
 * ready endpoints only (never terminating ones), round robin, and an endpoint whose connection
 * failed passed over for a while.
 */
import test from 'ava';
import type { Endpoint, ServicePortState } from '../../../netproxy/service-port.ts';
import { EndpointPicker, resolve } from '../../../agent/ingress/backends.ts';
import { endpoint, portState } from './port-state.ts';

const ep = (ip: string, extra: Partial<Endpoint> = {}): Endpoint => endpoint(ip, 8080, extra);

function state(...ports: [string, string, number, string, Endpoint[]][]): Map<string, ServicePortState> {
  return new Map(
    ports.map(([service, portName, port, protocol, endpoints]) => {
      const s = portState(service, portName, port, endpoints, protocol as ServicePortState['protocol']);
      return [s.key, s];
    }),
  );
}

const target = { ingress: 'web/site', namespace: 'web', service: 'api' };

test('the Service port by name or by number; UDP ports and other Services do not count', (t) => {
  const s = state(
    ['web/api', 'http', 80, 'tcp', [ep('10.244.1.5')]],
    ['web/api', 'metrics', 9090, 'tcp', [ep('10.244.1.6')]],
    ['web/api', 'dns', 53, 'udp', [ep('10.244.1.7')]],
    ['other/api', 'http', 80, 'tcp', [ep('10.244.9.9')]],
  );
  t.like(resolve(s, { ...target, portName: 'http' }), { kind: 'endpoints', endpoints: [{ ip: '10.244.1.5' }] });
  t.like(resolve(s, { ...target, portNumber: 9090 }), { kind: 'endpoints', endpoints: [{ ip: '10.244.1.6' }] });
  t.deepEqual(resolve(s, { ...target, portNumber: 53 }), { kind: 'no-service' });
  t.deepEqual(resolve(s, { ...target, service: 'missing', portName: 'http' }), { kind: 'no-service' });
});

test('only ready endpoints that are not terminating', (t) => {
  const s = state([
    'web/api',
    'http',
    80,
    'tcp',
    [ep('10.244.1.1', { ready: false }), ep('10.244.1.2', { ready: false, terminating: true }), ep('10.244.1.3')],
  ]);
  t.like(resolve(s, { ...target, portName: 'http' }), { kind: 'endpoints', endpoints: [{ ip: '10.244.1.3' }] });
  const draining = state(['web/api', 'http', 80, 'tcp', [ep('10.244.1.2', { ready: false, terminating: true })]]);
  t.deepEqual(resolve(draining, { ...target, portName: 'http' }), { kind: 'no-endpoints', key: 'web/api:http/tcp' });
});

test('round robin, with a different endpoint for the retry', (t) => {
  const picker = new EndpointPicker(() => 0);
  const endpoints = [ep('a'), ep('b'), ep('c')];
  const picks = Array.from({ length: 4 }, () => picker.pick('k', endpoints));
  t.deepEqual(
    picks.map((p) => `${p.first.ip}${p.retry?.ip}`),
    ['ab', 'bc', 'ca', 'ab'],
  );
  t.is(picker.pick('single', [ep('a')]).retry, undefined);
});

test('an endpoint whose connection failed is passed over for 10 s, unless it is the only one', (t) => {
  let now = 0;
  const picker = new EndpointPicker(() => now);
  const endpoints = [ep('a'), ep('b')];
  picker.failed(endpoints[0]!);
  const during = Array.from({ length: 4 }, () => picker.pick('k', endpoints).first.ip);
  t.deepEqual(during, ['b', 'b', 'b', 'b']);
  t.is(picker.pick('solo', [endpoints[0]!]).first.ip, 'a', 'better to try it than to refuse');
  now = 10_001;
  const after = Array.from({ length: 2 }, () => picker.pick('k', endpoints).first.ip);
  t.deepEqual(after.sort(), ['a', 'b']);
});
