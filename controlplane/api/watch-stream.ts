/**
 * A watch over HTTP: one JSON event per line on a chunked 200 response. Where it starts is
 * planned from the query (watch-options.ts): with the current objects as ADDED (rv unset or "0",
 * or sendInitialEvents=true, which then ends them with an annotated bookmark), or after a numeric
 * rv, ending with an ERROR event carrying 410 Expired when that history is compacted. Bookmarks
 * carry the newest revision seen.
 */
import type { ServerResponse } from 'node:http';
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject, WatchEvent } from '../../kube/types.ts';
import type { Registry } from './registry.ts';
import type { ResourceRequest } from './request.ts';
import { selectorsFrom, wantsTable } from './rest.ts';
import { tableFor } from './table.ts';
import { watchEventLine } from './watch-line.ts';
import { apiVersionOf } from '../../kube/types.ts';
import { initialEventsEndAnnotation, planWatch } from './watch-options.ts';
import { canEncodeProtobuf, encodeProtobufWatchEvent, protobufWatchMediaType } from './protobuf/envelope.ts';
import { wantsProtobuf } from './protobuf/negotiate.ts';

export interface WatchSettings {
  /** How often a bookmark is sent to clients that allow them. */
  readonly bookmarkIntervalMs: number;
  /** Upper bound of a watch's life when the client names none. */
  readonly maxTimeoutSeconds: number;
}

/**
 * A watcher's send buffer (what the server holds, beyond the kernel's socket buffers, because the
 * client has not read it yet): above `softBytes` for longer than `stallMs`, or ever above
 * `hardBytes`, the watch is closed and the client, as any informer does on a closed watch, watches
 * again from its last version or lists. Upstream's watch cache does the same with its per-watcher
 * queue of events: a watcher that cannot take an event within a short budget is terminated rather
 * than buffered for without end. Each watcher holds its own copy of what it was not sent, so
 * these bytes times the open watches is what slow clients can pin.
 */
const watchBufferLimits = {
  softBytes: 512 * 1024,
  stallMs: 250,
  hardBytes: 8 * 1024 * 1024,
  maxQueuedEvents: 10_000,
};

export async function serveWatch(
  registry: Registry,
  request: ResourceRequest,
  url: URL,
  accept: string | undefined,
  res: ServerResponse,
  settings: WatchSettings,
  /** Called for each event written (metrics). */
  onEventWritten: () => void = () => undefined,
): Promise<void> {
  const { info, namespace, name } = request;
  const selectors = selectorsFrom(info, url);
  if (name !== undefined) {
    selectors.fields = [...(selectors.fields ?? []), { field: 'metadata.name', equal: true, value: name }];
  }
  const plan = planWatch(url.searchParams);
  const rvText = url.searchParams.get('resourceVersion') ?? '';
  const bookmarks = plan.bookmarks;
  const timeoutSeconds =
    plan.timeoutSeconds !== undefined
      ? Math.min(plan.timeoutSeconds, settings.maxTimeoutSeconds)
      : settings.maxTimeoutSeconds * (0.5 + Math.random() * 0.5);
  const asTable = wantsTable(accept);
  const asProtobuf =
    !asTable &&
    wantsProtobuf(accept) &&
    canEncodeProtobuf({ apiVersion: apiVersionOf(info.group, info.version), kind: info.kind });

  let startRevision: number;
  let initial: KubeObject[] = [];
  if (plan.initialEvents) {
    const list = await registry.list(info, namespace, {
      ...selectors,
      ...(plan.notOlderThan !== undefined ? { notOlderThan: plan.notOlderThan } : {}),
    });
    startRevision = Number(list.metadata.resourceVersion);
    initial = list.items;
  } else {
    startRevision = plan.after ?? (await registry.currentRevision(info));
  }

  let lastRevision = startRevision;
  let sentColumns = false;
  let open = true;
  let live = false;
  let stallTimer: NodeJS.Timeout | undefined;
  let finished = false;
  let finish: () => void = () => undefined;
  const done = new Promise<void>(
    (resolve) =>
      (finish = () => {
        finished = true;
        resolve();
      }),
  );
  /** Drops a watcher that does not read: its buffer goes with the connection. */
  const abandon = () => {
    open = false;
    res.destroy();
    finish();
  };
  const write = (event: WatchEvent<unknown>) => {
    if (!open) return;
    if (asProtobuf) res.write(encodeProtobufWatchEvent(event.type, event.object as Record<string, unknown>));
    else
      res.write(
        event.type === 'BOOKMARK' || event.type === 'ERROR' ? `${JSON.stringify(event)}\n` : watchEventLine(event),
      );
    onEventWritten();
    // the initial events wait for the client instead (see below): only live ones can outrun it
    if (!live) return;
    const buffered = res.writableLength;
    if (buffered > watchBufferLimits.hardBytes) return abandon();
    if (buffered > watchBufferLimits.softBytes && stallTimer === undefined) {
      stallTimer = setTimeout(() => {
        stallTimer = undefined;
        if (res.writableLength > watchBufferLimits.softBytes) abandon();
      }, watchBufferLimits.stallMs);
    }
  };
  /** Waits while the client has more than the soft limit to read (or until it goes). */
  const drained = async () => {
    while (open && !finished && !res.destroyed && res.writableLength > watchBufferLimits.softBytes) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          res.off('drain', wake);
          res.off('close', wake);
          resolve();
        };
        res.once('drain', wake);
        res.once('close', wake);
        // the watch's time can run out while the client is not reading
        void done.then(wake);
      });
    }
  };
  const send = (event: WatchEvent) => {
    lastRevision = Math.max(lastRevision, Number(event.object.metadata.resourceVersion ?? 0));
    if (!asTable || event.type === 'BOOKMARK' || event.type === 'ERROR') return write(event);
    const table = tableFor(
      info,
      [event.object],
      event.object.metadata.resourceVersion,
      url.searchParams.get('includeObject') ?? 'Metadata',
    );
    if (sentColumns) table.columnDefinitions = [];
    sentColumns = true;
    write({ type: event.type, object: table });
  };

  const pending: WatchEvent[] = [];
  let ready = false;
  const fail = (err: unknown) => {
    const status = err instanceof ApiError ? err : new ApiError('InternalError', String(err));
    write({ type: 'ERROR', object: status.toStatus() });
    finish();
  };
  let handle;
  try {
    handle = await registry.watch(
      info,
      namespace,
      startRevision,
      selectors,
      (event) => {
        if (ready) return send(event);
        pending.push(event);
        // a client that reads its initial events too slowly for the changes coming in
        if (pending.length > watchBufferLimits.maxQueuedEvents) abandon();
      },
      fail,
      (revision) => {
        if (ready) lastRevision = Math.max(lastRevision, revision);
      },
    );
  } catch (err) {
    if (err instanceof ApiError && err.reason === 'Expired') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
      res.write(
        `${JSON.stringify({ type: 'ERROR', object: new ApiError('Expired', `too old resource version: ${rvText}`).toStatus() })}\n`,
      );
      res.end();
      return;
    }
    throw err;
  }

  res.writeHead(200, {
    'Content-Type': asProtobuf ? protobufWatchMediaType : 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
  const bookmark = () => {
    if (!live) return;
    lastRevision = Math.max(lastRevision, registry.deliveredRevision() ?? 0, handle.caughtUp());
    write({
      type: 'BOOKMARK',
      object: {
        kind: info.kind,
        apiVersion: apiVersionOf(info.group, info.version),
        metadata: { resourceVersion: String(lastRevision) },
      },
    });
  };
  const bookmarkTimer = bookmarks ? setInterval(bookmark, settings.bookmarkIntervalMs) : undefined;
  // a last bookmark as the watch times out, as upstream's watch cache sends: the client resumes
  // from now, not from its last event or bookmark (which may be far behind on a quiet selection)
  const timeout = setTimeout(() => {
    if (bookmarks) bookmark();
    finish();
  }, timeoutSeconds * 1000);
  res.on('close', finish);
  // a client that went away while the watch was being set up (a component stopping right after it
  // started) has already had its 'close': without this its timers would keep the process alive
  if (res.destroyed || !res.socket || res.socket.destroyed) finish();
  // the initial state (and what changed meanwhile) goes out as fast as the client takes it, however
  // large it is, holding at most about the soft limit; after it, a client that stops reading is dropped
  for (const object of initial) {
    if (finished) break;
    send({ type: 'ADDED', object });
    await drained();
  }
  // a streaming list (sendInitialEvents) says where its initial state ends
  if (plan.endBookmark && !finished) {
    const metadata = { resourceVersion: String(startRevision), annotations: { [initialEventsEndAnnotation]: 'true' } };
    write({
      type: 'BOOKMARK',
      object: { kind: info.kind, apiVersion: apiVersionOf(info.group, info.version), metadata },
    });
  }
  for (let next = 0; next < pending.length && open && !finished; next++) {
    send(pending[next]!);
    await drained();
  }
  pending.length = 0;
  ready = true;
  live = true;

  await done;
  open = false;
  handle.cancel();
  clearTimeout(timeout);
  clearTimeout(stallTimer);
  if (bookmarkTimer) clearInterval(bookmarkTimer);
  // a client that left a full buffer unread would keep it (and the connection) as long as it likes
  if (res.writableLength > watchBufferLimits.softBytes) res.destroy();
  else if (!res.writableEnded) res.end();
}
