/**
 * etcd3's watch manager throws "Failed to find watcher for IWatchResponse" when etcd answers for a
 * watch the client has just cancelled (the answer was already on the wire). The throw happens in a
 * stream callback, so it is an unhandled error that ends the process: a server whose watch was
 * stopped at the wrong moment would crash. Such an answer belongs to a watch nobody listens to any
 * more; it is dropped here instead.
 */
import type { Etcd3 } from 'etcd3';

interface WatchManagerLike {
  watchers: { id: string | null }[];
  handleResponse(response: { watch_id: string }): void;
}

export function dropLateWatchResponses(client: Etcd3): void {
  const manager = (client as unknown as { watchManager?: WatchManagerLike }).watchManager;
  if (manager === undefined || typeof manager.handleResponse !== 'function') return;
  const handle = manager.handleResponse.bind(manager);
  manager.handleResponse = (response) => {
    if (!manager.watchers.some((watcher) => watcher.id === response.watch_id)) return;
    handle(response);
  };
}
