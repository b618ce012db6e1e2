/**
 * What a short command loads from the source tree (bin/bosun): `--version` answers before the
 * command-line parser loads, and `cri --help` loads the parser and the cri command's own options,
 * not the CRI client, the server or the agent. Counted by the modules Node loaded, not by a clock.
 */
import test from 'ava';
import { join } from 'node:path';
import { loadedModules, workingBuiltinsIn } from '../helpers/loaded-modules.ts';
import { commandTable } from '../../cli/commands.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');

test('bosun --version loads its entry and the version, no package and no parser', async (t) => {
  const loaded = await loadedModules([bosun, '--version']);
  t.is(loaded.result.code, 0, loaded.result.stderr);
  t.regex(loaded.result.stdout, /^bosun \d+\.\d+\.\d+ \(node v24\./);
  t.deepEqual(loaded.own, ['cli/main.ts', 'cli/version.ts']);
  t.deepEqual(loaded.packages, []);
  t.deepEqual(workingBuiltinsIn(loaded), []);
});

test('bosun cri --help loads the parser and cli/ only: no CRI client, gRPC, server or agent code', async (t) => {
  const loaded = await loadedModules([bosun, 'cri', '--help']);
  t.is(loaded.result.code, 0, loaded.result.stderr);
  t.regex(loaded.result.stdout, /bosun cri ps/);
  t.deepEqual(
    loaded.own.filter((file) => !file.startsWith('cli/')),
    [],
  );
  // the other commands' modules stay unloaded
  t.false(loaded.own.some((file) => /cli\/(server|agent-command|sandbox-command|up-command)\.ts$/.test(file)));
  t.deepEqual(
    loaded.packages.filter((name) => ['@grpc/grpc-js', 'protobufjs', 'js-yaml', 'etcd3', 'pino'].includes(name)),
    [],
  );
  t.true(loaded.packages.includes('yargs'));
  t.deepEqual(workingBuiltinsIn(loaded), []);
});

test('the command table says what each command module says of itself', async (t) => {
  for (const entry of commandTable) {
    const module = await entry.load();
    t.is(module.command, entry.command);
    t.is(module.describe, entry.describe, entry.command);
  }
});

test('bosun cri ps with plain flags runs without yargs or grpc-js; its usage errors still come from yargs', async (t) => {
  const ps = await loadedModules([bosun, 'cri', '-r', 'unix:///nonexistent/containerd.sock', 'ps', '-q']);
  t.is(ps.result.code, 1);
  t.regex(ps.result.stderr, /^bosun: containerd is not reachable at unix:\/\/\/nonexistent\/containerd\.sock/);
  t.false(ps.packages.includes('yargs'));
  t.false(ps.own.includes('cli/command-line.ts'));
  // its unary calls go over Node's http2: grpc-js stays unloaded
  t.false(ps.packages.includes('@grpc/grpc-js'));
  // the listing calls have their own codec: protobufjs, which generates code per message, stays unloaded
  t.false(ps.packages.includes('protobufjs'));
  const wrong = await loadedModules([bosun, 'cri', 'ps', '--bogus']);
  t.is(wrong.result.code, 2);
  t.regex(wrong.result.stderr, /^bosun cri ps: unknown flag --bogus/);
  t.true(wrong.packages.includes('yargs'));
});
