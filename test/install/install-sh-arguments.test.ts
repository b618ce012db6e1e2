/**
 * install.sh's command line, checked before it touches anything. Run as nobody, so that a check
 * that wrongly let a line through stops at the root check instead of installing on this host.
 */
import test from 'ava';
import { join } from 'node:path';
import { run } from '../helpers/run.ts';

const installSh = join(import.meta.dirname, '..', '..', 'install.sh');
const asNobody = (...args: string[]) =>
  run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'bash', installSh, ...args]);

test('server-join without the certificate key or the etcd endpoints says what it needs', async (t) => {
  const base = ['server-join', 'https://10.0.0.1:6443', '--token', 'abcdef.0123456789abcdef'];
  const pin = ['--discovery-token-ca-cert-hash', `sha256:${'a'.repeat(64)}`];
  for (const args of [
    [...base, ...pin],
    [...base, ...pin, '--certificate-key', 'b'.repeat(64)],
    [...base, ...pin, '--etcd-endpoints', 'https://10.0.0.1:2379'],
  ]) {
    const reply = await asNobody(...args);
    t.is(reply.code, 1, args.join(' '));
    t.regex(reply.stderr, /server-join needs: .*--certificate-key <hex> --etcd-endpoints <urls>/);
  }
  for (const whole of [
    [...base, ...pin, '--certificate-key', 'b'.repeat(64), '--etcd-endpoints', 'x'],
    [...base, ...pin, `--certificate-key=${'b'.repeat(64)}`, '--etcd-endpoints=x'],
  ]) {
    const complete = await asNobody(...whole);
    t.regex(complete.stderr, /run as root/, `a whole line passes on to the next check: ${whole.join(' ')}`);
  }
});

test('--help names the server-join mode', async (t) => {
  const reply = await asNobody('--help');
  t.is(reply.code, 0);
  t.regex(reply.stdout, /install\.sh server-join <https:\/\/server:6443>/);
});
