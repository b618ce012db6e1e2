/**
 * A watch that breaks (its server died, the connection reset) resumes from its resourceVersion
 * instead of listing the collection again, as upstream's reflector does: when a server goes, every
 * client of it comes back on another without a relist storm. A 410 there still relists.
 */
import test from 'ava';
import { ApiError } from '../../kube/errors.ts';
import { Informer, type ListWatch, type WatchEventType } from '../../kube/informer.ts';
import type { KubeObject } from '../../kube/types.ts';
import { waitFor } from '../controlplane/ports.ts';

const cm = (name: string, rv: string): KubeObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: rv } }) as KubeObject;

/** A source whose watches fail as scripted: each entry is what one watch does after its events. */
class ScriptedSource implements ListWatch<KubeObject> {
  lists = 0;
  readonly watchedFrom: string[] = [];
  readonly #script: { events: KubeObject[]; end: Error | 'hang' }[];
  constructor(script: { events: KubeObject[]; end: Error | 'hang' }[]) {
    this.#script = script;
  }

  async list() {
    this.lists++;
    return { items: [cm('a', '10')], resourceVersion: '10' };
  }

  async watch(
    resourceVersion: string,
    onEvent: (type: WatchEventType, object: KubeObject) => void,
    signal: AbortSignal,
    started: () => void,
  ) {
    this.watchedFrom.push(resourceVersion);
    started();
    const step = this.#script.shift() ?? { events: [], end: 'hang' as const };
    for (const object of step.events) onEvent('ADDED', object);
    if (step.end === 'hang') {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      return;
    }
    throw step.end;
  }
}

test('a broken watch resumes from the last resourceVersion without listing again', async (t) => {
  const source = new ScriptedSource([
    { events: [cm('b', '11')], end: new ApiError('ServiceUnavailable', 'GET /api/v1/configmaps: socket hang up') },
    { events: [cm('c', '12')], end: 'hang' },
  ]);
  const informer = new Informer(source, { retryMs: 10 });
  const running = informer.run();
  try {
    await waitFor('the event after the break', () => informer.get('ns/c') !== undefined, 5000);
    t.is(source.lists, 1, 'listed once');
    t.deepEqual(source.watchedFrom, ['10', '11']);
    t.truthy(informer.get('ns/b'));
  } finally {
    informer.stop();
    await running;
  }
});

test('a watch answered 410 on the other side lists afresh', async (t) => {
  const source = new ScriptedSource([
    { events: [], end: new ApiError('ServiceUnavailable', 'connection reset') },
    { events: [], end: new ApiError('Expired', 'too old resource version') },
    { events: [], end: 'hang' },
  ]);
  const informer = new Informer(source, { retryMs: 10 });
  const running = informer.run();
  try {
    await waitFor('the relist after 410', () => source.lists === 2, 5000);
    t.deepEqual(source.watchedFrom.slice(0, 2), ['10', '10']);
  } finally {
    informer.stop();
    await running;
  }
});
