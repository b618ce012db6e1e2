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

export interface WatchSettings {
  /** How often a bookmark is sent to clients that allow them. */
  readonly bookmarkIntervalMs: number;
  /** Upper bound of a watch's life when the client names none. */
  readonly maxTimeoutSeconds: number;
}

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
  const timeoutSeconds = plan.timeoutSeconds !== undefined ? Math.min(plan.timeoutSeconds, settings.maxTimeoutSeconds) : settings.maxTimeoutSeconds * (0.5 + Math.random() * 0.5);
  const asTable = wantsTable(accept);

  let startRevision: number;
  let initial: KubeObject[] = [];
  if (plan.initialEvents) {
    const list = await registry.list(info, namespace, { ...selectors, ...(plan.notOlderThan !== undefined ? { notOlderThan: plan.notOlderThan } : {}) });
    startRevision = Number(list.metadata.resourceVersion);
    initial = list.items;
  } else {
    startRevision = plan.after ?? (await registry.currentRevision(info));
  }

  let lastRevision = startRevision;
  let sentColumns = false;
  let open = true;
  const write = (event: WatchEvent<unknown>) => {
    if (!open) return;
    res.write(event.type === 'BOOKMARK' || event.type === 'ERROR' ? `${JSON.stringify(event)}\n` : watchEventLine(event));
    onEventWritten();
  };
  const send = (event: WatchEvent) => {
    lastRevision = Math.max(lastRevision, Number(event.object.metadata.resourceVersion ?? 0));
    if (!asTable || event.type === 'BOOKMARK' || event.type === 'ERROR') return write(event);
    const table = tableFor(info, [event.object], event.object.metadata.resourceVersion, url.searchParams.get('includeObject') ?? 'Metadata');
    if (sentColumns) table.columnDefinitions = [];
    sentColumns = true;
    write({ type: event.type, object: table });
  };

  const pending: WatchEvent[] = [];
  let ready = false;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
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
      (event) => (ready ? send(event) : pending.push(event)),
      fail,
      (revision) => {
        if (ready) lastRevision = Math.max(lastRevision, revision);
      },
    );
  } catch (err) {
    if (err instanceof ApiError && err.reason === 'Expired') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
      res.write(`${JSON.stringify({ type: 'ERROR', object: new ApiError('Expired', `too old resource version: ${rvText}`).toStatus() })}\n`);
      res.end();
      return;
    }
    throw err;
  }

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  for (const object of initial) send({ type: 'ADDED', object });
  if (plan.endBookmark) {
    const metadata = { resourceVersion: String(startRevision), annotations: { [initialEventsEndAnnotation]: 'true' } };
    write({ type: 'BOOKMARK', object: { kind: info.kind, apiVersion: apiVersionOf(info.group, info.version), metadata } });
  }
  ready = true;
  for (const event of pending.splice(0)) send(event);

  const bookmark = () => {
    lastRevision = Math.max(lastRevision, registry.deliveredRevision() ?? 0, handle.caughtUp());
    write({ type: 'BOOKMARK', object: { kind: info.kind, apiVersion: apiVersionOf(info.group, info.version), metadata: { resourceVersion: String(lastRevision) } } });
  };
  const bookmarkTimer = bookmarks ? setInterval(bookmark, settings.bookmarkIntervalMs) : undefined;
  // a last bookmark as the watch times out, as upstream's watch cache sends: the client resumes
  // from now, not from its last event or bookmark (which may be far behind on a quiet selection)
  const timeout = setTimeout(() => {
    if (bookmarks) bookmark();
    finish();
  }, timeoutSeconds * 1000);
  res.on('close', finish);
  await done;
  open = false;
  handle.cancel();
  clearTimeout(timeout);
  if (bookmarkTimer) clearInterval(bookmarkTimer);
  if (!res.writableEnded) res.end();
}
