import test from 'ava';
import { choose, initialChooserState, type ChooserEvent, type ChooserState } from '../../kube/server-chooser.ts';

const a = 'https://10.0.0.1:6443';
const b = 'https://10.0.0.2:6443';
const c = 'https://10.0.0.3:6443';

/** A fleet of servers that live and die, health-checked as the balancer does, with the chooser's every move recorded. */
class FakeFleet {
  state: ChooserState;
  readonly alive = new Set<string>();
  readonly switches: { from: string | undefined; to: string | undefined }[] = [];
  readonly closed: string[] = [];

  constructor(servers: string[]) {
    this.state = initialChooserState(servers);
    for (const s of servers) this.alive.add(s);
  }

  send(event: ChooserEvent): void {
    const before = this.state.current;
    const choice = choose(this.state, event);
    this.state = choice.state;
    if (choice.leaving) this.closed.push(choice.leaving);
    if (before !== this.state.current) this.switches.push({ from: before, to: this.state.current });
  }

  /** One round of health checks over every listed server. */
  probeAll(): void {
    for (const server of this.state.servers) this.send({ kind: 'probed', server, ok: this.alive.has(server) });
  }

  kill(server: string): void {
    this.alive.delete(server);
  }

  revive(server: string): void {
    this.alive.add(server);
  }
}

test('sticks to the first server while it is healthy', (t) => {
  const fleet = new FakeFleet([a, b, c]);
  for (let i = 0; i < 5; i++) fleet.probeAll();
  t.is(fleet.state.current, a);
  t.deepEqual(fleet.switches, []);
});

test('a failed health check moves to the next healthy server and closes what was open to the old one', (t) => {
  const fleet = new FakeFleet([a, b, c]);
  fleet.kill(a);
  fleet.probeAll();
  t.is(fleet.state.current, b);
  t.deepEqual(fleet.closed, [a]);
  t.deepEqual(fleet.switches, [{ from: a, to: b }]);
});

test('a recovered server does not take the connections back (sticky)', (t) => {
  const fleet = new FakeFleet([a, b, c]);
  fleet.kill(a);
  fleet.probeAll();
  fleet.revive(a);
  fleet.probeAll();
  fleet.probeAll();
  t.is(fleet.state.current, b);
  t.false(fleet.state.down.has(a));
});

test('the next healthy one in order, wrapping round, skipping the dead', (t) => {
  const fleet = new FakeFleet([a, b, c]);
  fleet.send({ kind: 'failed', server: a });
  t.is(fleet.state.current, b);
  fleet.kill(c);
  fleet.probeAll();
  t.is(fleet.state.current, b, 'a dead server that is not current changes nothing');
  fleet.kill(b);
  fleet.probeAll();
  t.is(fleet.state.current, a, 'a was healthy again in the same round');
});

test('with every server down it stays put and moves as soon as one answers', (t) => {
  const fleet = new FakeFleet([a, b]);
  fleet.kill(a);
  fleet.kill(b);
  fleet.probeAll();
  t.true(fleet.state.current === a || fleet.state.current === b);
  const stuck = fleet.state.current;
  fleet.probeAll();
  t.is(fleet.state.current, stuck);
  const other = stuck === a ? b : a;
  fleet.revive(other);
  fleet.probeAll();
  t.is(fleet.state.current, other);
});

test('servers learned later join the list; a current server that leaves it is replaced', (t) => {
  const fleet = new FakeFleet([a]);
  fleet.send({ kind: 'servers', servers: [a, b, c] });
  t.is(fleet.state.current, a);
  t.deepEqual(fleet.state.servers, [a, b, c]);
  fleet.send({ kind: 'servers', servers: [b, c] });
  t.is(fleet.state.current, b);
  t.deepEqual(fleet.closed, [a]);
  fleet.send({ kind: 'probed', server: a, ok: false });
  t.false(fleet.state.down.has(a), 'news of a server no longer listed is ignored');
  fleet.send({ kind: 'servers', servers: [b, b, c] });
  t.deepEqual(fleet.state.servers, [b, c], 'duplicates are dropped');
});

test('no servers: nothing current, and the first listed becomes current', (t) => {
  let state = initialChooserState([]);
  t.is(state.current, undefined);
  state = choose(state, { kind: 'servers', servers: [c, a] }).state;
  t.is(state.current, c);
});
