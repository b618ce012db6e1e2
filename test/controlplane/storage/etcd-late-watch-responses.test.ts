/**
 * An etcd answer for a watch the client already cancelled is dropped, not thrown from etcd3's
 * stream callback (which ended the whole process: seen once ending a test worker in a full run).
 */
import test from 'ava';
import { Etcd3 } from 'etcd3';
import { dropLateWatchResponses } from '../../../controlplane/storage/etcd-late-watch-responses.ts';

interface Manager {
  handleResponse(response: { watch_id: string }): void;
}
const managerOf = (client: Etcd3) => (client as unknown as { watchManager: Manager }).watchManager;

test('a late answer for a cancelled watch is dropped; etcd3 alone throws', (t) => {
  const plain = new Etcd3({ hosts: ['127.0.0.1:1'] });
  const guarded = new Etcd3({ hosts: ['127.0.0.1:1'] });
  t.teardown(() => {
    plain.close();
    guarded.close();
  });
  t.throws(() => managerOf(plain).handleResponse({ watch_id: '42' }), { message: /Failed to find watcher/ });
  dropLateWatchResponses(guarded);
  t.notThrows(() => managerOf(guarded).handleResponse({ watch_id: '42' }));
});
