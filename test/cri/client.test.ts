/**
 * The client's own behaviour (deadlines, cancellation, error mapping, close) against a small
 * gRPC server on a unix socket that plays containerd's part with our schema, over either unary
 * transport (grpc-js, or Node's http2 as `bosun cri` uses).
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CriClient } from '../../cri/client.ts';
import { messageType } from '../../cri/schema.ts';
import type { CriError } from '../../cri/errors.ts';
import type { ContainerEvent } from '../../cri/types.ts';
import { waitFor } from '../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), `bosun-cri-client-${process.pid}-`));
const socket = join(dir, 'cri.sock');
const server = new grpc.Server();
const seen: { method: string; request: Record<string, unknown> }[] = [];

function method(
  name: string,
  requestType: string,
  responseType: string,
  answer: (request: Record<string, unknown>, callback: grpc.sendUnaryData<Record<string, unknown>>) => void,
) {
  const req = messageType(`runtime.v1.${requestType}`);
  const res = messageType(`runtime.v1.${responseType}`);
  return {
    definition: {
      path: `/runtime.v1.RuntimeService/${name}`,
      requestStream: false,
      responseStream: false,
      requestDeserialize: (bytes: Buffer) => req.toObject(req.decode(bytes), { longs: Number, enums: String }),
      requestSerialize: (value: Record<string, unknown>) => Buffer.from(req.encode(req.fromObject(value)).finish()),
      responseSerialize: (value: Record<string, unknown>) => Buffer.from(res.encode(res.fromObject(value)).finish()),
      responseDeserialize: (bytes: Buffer) => res.toObject(res.decode(bytes)),
    },
    handler: (
      call: grpc.ServerUnaryCall<Record<string, unknown>, Record<string, unknown>>,
      callback: grpc.sendUnaryData<Record<string, unknown>>,
    ) => {
      seen.push({ method: name, request: call.request });
      answer(call.request, callback);
    },
  };
}

const methods = {
  Version: method('Version', 'VersionRequest', 'VersionResponse', (_req, cb) =>
    cb(null, { version: '0.1.0', runtimeName: 'stand-in', runtimeVersion: '9.9', runtimeApiVersion: 'v1' }),
  ),
  // Never answers: for deadlines and cancellation.
  ListContainers: method('ListContainers', 'ListContainersRequest', 'ListContainersResponse', () => {}),
  StopContainer: method('StopContainer', 'StopContainerRequest', 'StopContainerResponse', (req, cb) =>
    cb({
      code: grpc.status.NOT_FOUND,
      details: `an error occurred when try to find container "${String(req.containerId)}": not found`,
    }),
  ),
  // A broken or hostile runtime: the answer's first field claims more bytes than follow.
  ListPodSandbox: {
    ...method('ListPodSandbox', 'ListPodSandboxRequest', 'ListPodSandboxResponse', (_req, cb) => cb(null, {})),
    definition: {
      ...method('ListPodSandbox', 'ListPodSandboxRequest', 'ListPodSandboxResponse', () => {}).definition,
      responseSerialize: () => Buffer.from([0x0a, 0x7f, 0x0a]),
    },
  },
  ContainerStatus: method('ContainerStatus', 'ContainerStatusRequest', 'ContainerStatusResponse', (req, cb) =>
    cb(null, {
      status: { id: req.containerId, state: 'CONTAINER_EXITED', exitCode: 3, createdAt: 1795309222427467800 },
    }),
  ),
};

/** The event stream: two events, then the stream stays open until the client cancels it. */
const eventsRequest = messageType('runtime.v1.GetEventsRequest');
const eventResponse = messageType('runtime.v1.ContainerEventResponse');
const eventStreams: { cancelled: boolean; userAgent: string }[] = [];
const containerEvents = {
  definition: {
    path: '/runtime.v1.RuntimeService/GetContainerEvents',
    requestStream: false,
    responseStream: true,
    requestDeserialize: (bytes: Buffer) => eventsRequest.toObject(eventsRequest.decode(bytes)),
    requestSerialize: () => Buffer.alloc(0),
    responseSerialize: (value: Record<string, unknown>) =>
      Buffer.from(eventResponse.encode(eventResponse.fromObject(value)).finish()),
    responseDeserialize: (bytes: Buffer) => eventResponse.toObject(eventResponse.decode(bytes)),
  },
  handler: (call: grpc.ServerWritableStream<Record<string, unknown>, Record<string, unknown>>) => {
    const record = { cancelled: false, userAgent: String(call.metadata.get('user-agent')[0] ?? '') };
    eventStreams.push(record);
    call.on('cancelled', () => {
      record.cancelled = true;
    });
    call.write({ containerId: 'c1', containerEventType: 'CONTAINER_CREATED_EVENT', createdAt: 1795309222427467800 });
    call.write({ containerId: 'c1', containerEventType: 'CONTAINER_STARTED_EVENT', createdAt: 1795309222527467800 });
  },
};

test.before(async () => {
  const all = { ...methods, GetContainerEvents: containerEvents };
  const definition = Object.fromEntries(Object.entries(all).map(([name, m]) => [name, m.definition]));
  const handlers = Object.fromEntries(Object.entries(all).map(([name, m]) => [name, m.handler]));
  server.addService(
    definition as unknown as grpc.ServiceDefinition,
    handlers as unknown as grpc.UntypedServiceImplementation,
  );
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
});

test.after.always(() => {
  server.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

for (const transport of ['grpc-js', 'http2'] as const) {
  test(`${transport}: requests carry the schema's fields; answers come back typed`, async (t) => {
    const client = new CriClient(socket, { transport });
    t.is(client.endpoint, `unix://${socket}`);
    t.is((await client.version()).runtimeName, 'stand-in');
    t.deepEqual(seen.find((s) => s.method === 'Version')?.request, { version: 'v1' });
    const status = (await client.containerStatus('abc', true)).status!;
    t.deepEqual(
      [status.id, status.state, status.exitCode, status.reason, status.labels],
      ['abc', 'CONTAINER_EXITED', 3, '', {}],
    );
    t.deepEqual(seen.find((s) => s.method === 'ContainerStatus')?.request, { containerId: 'abc', verbose: true });
    client.close();
  });

  test(`${transport}: a deadline that passes is BOSUN_CRI_DEADLINE_EXCEEDED, naming the call and the wait`, async (t) => {
    const client = new CriClient(`unix://${socket}`, { transport });
    const started = Date.now();
    const err = (await t.throwsAsync(client.listContainers(undefined, { timeoutMs: 300 }))) as CriError;
    t.is(err.code, 'BOSUN_CRI_DEADLINE_EXCEEDED');
    t.is(err.message, `containerd at unix://${socket} did not answer ListContainers within 0.3s`);
    t.true(Date.now() - started < 5000);
    client.close();
  });

  test(`${transport}: an abort signal cancels the call`, async (t) => {
    const client = new CriClient(`unix://${socket}`, { transport });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    t.is(
      ((await t.throwsAsync(client.listContainers(undefined, { signal: controller.signal }))) as CriError).code,
      'BOSUN_CRI_CANCELLED',
    );
    client.close();
  });

  test(`${transport}: gRPC NOT_FOUND becomes BOSUN_CRI_NOT_FOUND with the runtime's words kept as detail`, async (t) => {
    const client = new CriClient(`unix://${socket}`, { transport });
    const err = (await t.throwsAsync(client.stopContainer('zzz', 5))) as CriError;
    t.is(err.code, 'BOSUN_CRI_NOT_FOUND');
    t.is(err.method, 'StopContainer');
    t.regex(err.detail ?? '', /find container "zzz"/);
    t.deepEqual(seen.find((s) => s.method === 'StopContainer')?.request, { containerId: 'zzz', timeout: 5 });
    client.close();
  });

  test(`${transport}: a method the server lacks is BOSUN_CRI_UNIMPLEMENTED; calls after close are BOSUN_CRI_CLOSED`, async (t) => {
    const client = new CriClient(`unix://${socket}`, { transport });
    t.is(((await t.throwsAsync(client.listImages())) as CriError).code, 'BOSUN_CRI_UNIMPLEMENTED');
    client.close();
    client.close();
    t.is(((await t.throwsAsync(client.version())) as CriError).code, 'BOSUN_CRI_CLOSED');
  });

  test(`${transport}: an answer that does not decode is a BOSUN_CRI_RUNTIME error naming the call, not a bare exception`, async (t) => {
    const client = new CriClient(socket, { transport });
    const err = (await t.throwsAsync(client.listPodSandbox())) as CriError;
    t.is(err.code, 'BOSUN_CRI_RUNTIME');
    t.is(err.method, 'ListPodSandbox');
    t.regex(err.detail ?? '', /^Response message parsing error: /);
    // the client still works for the next call
    t.is((await client.version()).runtimeName, 'stand-in');
    client.close();
  });

  test.serial(`${transport}: the event stream yields typed events until the caller's signal stops it`, async (t) => {
    const client = new CriClient(socket, { transport });
    const controller = new AbortController();
    const before = eventStreams.length;
    const events: ContainerEvent[] = [];
    for await (const event of client.containerEvents({ signal: controller.signal })) {
      events.push(event);
      if (events.length === 2) controller.abort();
    }
    t.deepEqual(
      events.map((e) => [e.containerId, e.containerEventType, e.createdAt]),
      [
        ['c1', 'CONTAINER_CREATED_EVENT', 1795309222427467800],
        ['c1', 'CONTAINER_STARTED_EVENT', 1795309222527467800],
      ],
    );
    // the runtime learns that nobody listens any more
    await waitFor(() => eventStreams[before]?.cancelled === true, { what: 'the server sees the stream cancelled' });
    // and it came over the transport asked for (grpc-js names itself; Node's http2 sends no user-agent)
    t.is(eventStreams[before]!.userAgent.startsWith('grpc-node-js/'), transport === 'grpc-js');
    client.close();
  });

  test(`${transport}: a socket that is not there is BOSUN_CRI_UNAVAILABLE, naming the runtime`, async (t) => {
    const missing = join(dir, 'missing.sock');
    const client = new CriClient(missing, { transport });
    const err = (await t.throwsAsync(client.version())) as CriError;
    t.is(err.code, 'BOSUN_CRI_UNAVAILABLE');
    t.is(err.message, `containerd is not reachable at unix://${missing}: is it running? (systemctl status containerd)`);
    client.close();
  });
}
