/** systemd notifications: only under systemd, READY with our PID, the watchdog at half its interval. */
import test from 'ava';
import { SystemdNotifier, type NotifyRunner } from '../../kube/systemd-notify.ts';

function recorder(code = 0): NotifyRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    run: async (argv) => {
      calls.push([...argv]);
      return code;
    },
  };
}
const quiet = {
  warns: [] as string[],
  warn(_o: object, msg: string) {
    this.warns.push(msg);
  },
};

test('without NOTIFY_SOCKET nothing is sent', async (t) => {
  const runner = recorder();
  const notifier = new SystemdNotifier(runner, quiet, {}, 42);
  await notifier.ready('ok');
  await notifier.stopping();
  t.false(notifier.enabled);
  t.is(notifier.watchdogPeriodMs, undefined);
  t.deepEqual(runner.calls, []);
});

test('under systemd: READY names our PID as MAINPID, STOPPING on stop', async (t) => {
  const runner = recorder();
  const notifier = new SystemdNotifier(runner, quiet, { NOTIFY_SOCKET: '/run/systemd/notify' }, 42);
  await notifier.ready('node-1 registered');
  await notifier.stopping();
  t.deepEqual(runner.calls, [
    ['systemd-notify', '--pid=42', '--ready', '--status=node-1 registered'],
    ['systemd-notify', 'STOPPING=1'],
  ]);
});

test('the watchdog is pinged at half its interval, only when it is meant for our PID', (t) => {
  const env = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '60000000' };
  t.is(new SystemdNotifier(recorder(), quiet, env, 42).watchdogPeriodMs, 30_000);
  t.is(new SystemdNotifier(recorder(), quiet, { ...env, WATCHDOG_PID: '42' }, 42).watchdogPeriodMs, 30_000);
  t.is(new SystemdNotifier(recorder(), quiet, { ...env, WATCHDOG_PID: '7' }, 42).watchdogPeriodMs, undefined);
  t.is(new SystemdNotifier(recorder(), quiet, { NOTIFY_SOCKET: '/x' }, 42).watchdogPeriodMs, undefined);
});

test('a failing systemd-notify is reported once, not on every ping', async (t) => {
  const runner = recorder(1);
  const log = {
    warns: [] as string[],
    warn(_o: object, msg: string) {
      this.warns.push(msg);
    },
  };
  const notifier = new SystemdNotifier(runner, log, { NOTIFY_SOCKET: '/x' }, 42);
  await notifier.ready('a');
  await notifier.ready('b');
  t.deepEqual(log.warns, ['systemd-notify failed']);
  t.is(runner.calls.length, 2);
});
