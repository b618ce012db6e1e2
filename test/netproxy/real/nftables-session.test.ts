/**
 * The long-lived `nft -i` that applies partial syncs, on the real kernel inside lab namespaces:
 * one transaction per sync (all or nothing, as with nft -f), nft's refusals reported and
 * survived, a killed or hung session replaced without losing the transaction, sessions retired,
 * and nft -f for everything when nft -i cannot run.
 */
import anyTest, { type TestFn } from 'ava';
import { existsSync } from 'node:fs';
import type { CommandRunner, LongLivedProcess } from '../../../netproxy/command-runner.ts';
import { ProxyError, ProxyErrorCode } from '../../../netproxy/errors.ts';
import { backends } from '../../../netproxy/iptables-backend.ts';
import { NftablesApplier, nftCommand, type NftSessionPolicy } from '../../../netproxy/nftables-applier.ts';
import type { ProxyLogger } from '../../../netproxy/proxy-logger.ts';
import { ServiceProxy } from '../../../netproxy/service-proxy.ts';
import { service, slice, testConfig, thisNode } from '../fixtures.ts';
import { Lab, labUnavailable, waitFor } from './lab.ts';

const test = anyTest as TestFn;
const nft = nftCommand();
const unavailable = labUnavailable() ?? (existsSync(nft) ? undefined : 'nft is not installed (Debian nftables)');
const lab = new Lab();
test.after.always(() => lab.destroy());

/** Counts what goes where: `nft -f` runs and long-lived processes started. */
class CountingRunner implements CommandRunner {
  readonly inner: CommandRunner;
  /** Started instead of what the caller asks for, when set (an nft -i that cannot run). */
  readonly startInstead: readonly string[] | undefined;
  files = 0;
  starts = 0;
  constructor(inner: CommandRunner, startInstead?: readonly string[]) {
    this.inner = inner;
    this.startInstead = startInstead;
  }
  run(argv: readonly string[], options?: { input?: string; timeoutMs?: number }) {
    if (argv[0] === nft && argv[1] === '-f') this.files++;
    return this.inner.run(argv, options);
  }
  start(argv: readonly string[], options?: { env?: Readonly<Record<string, string>> }): LongLivedProcess {
    this.starts++;
    return this.inner.start!(this.startInstead ?? argv, options);
  }
}

async function setup(suffix: string, startInstead?: readonly string[]) {
  const ns = await lab.namespace(suffix);
  const runner = new CountingRunner(lab.runner(ns), startInstead);
  const list = async (what: string) => {
    const r = await lab.inNs(ns, [nft, 'list', ...what.split(' ')]);
    // One line: nft wraps long element lists.
    return r.code === 0 ? r.stdout.replace(/\s+/g, ' ') : `(${r.stderr.trim()})`;
  };
  return { ns, runner, list };
}

function recordingLog(): ProxyLogger & { warnings: { obj: object; msg: string }[] } {
  const warnings: { obj: object; msg: string }[] = [];
  return { info() {}, error() {}, warn: (obj, msg) => void warnings.push({ obj, msg }), warnings };
}

const table = 'ip bosun-session-test';
const declare = `add table ${table}\nadd set ${table} s { type ipv4_addr ; }\n`;
const element = (ip: string) => `add element ${table} s { ${ip} }\n`;

function applier(runner: CommandRunner, sessions: Partial<NftSessionPolicy> = {}, log?: ProxyLogger) {
  return new NftablesApplier(runner, nft, log === undefined ? { sessions } : { sessions, log });
}

/** A proxy in nftables mode that has synced one Service with two endpoints (a full sync). */
async function syncedProxy(runner: CommandRunner, logger?: ProxyLogger) {
  const proxy = new ServiceProxy({
    nodeName: thisNode.name,
    runner,
    config: testConfig,
    backend: backends.nf_tables,
    mode: 'nftables',
    syncPeriodMs: 3_600_000,
    ...(logger === undefined ? {} : { logger }),
  });
  const endpoints = slice('web', ['10.244.2.1', '10.244.2.2']);
  proxy.onServiceUpdate(undefined, service('web'));
  proxy.onEndpointSliceUpdate(undefined, endpoints);
  const first = await proxy.sync();
  if (!first.ok || !first.full) throw new Error(`the first sync failed: ${first.error}`);
  return { proxy, endpoints };
}

if (unavailable !== undefined) {
  process.stdout.write(`  - SKIP real nft session tests: ${unavailable}\n`);
  test.skip(`real nft session tests — skipped: ${unavailable}`, () => {});
} else {
  test('every sync of a small table goes to one long-lived nft', async (t) => {
    const { runner, list } = await setup('sp');
    const started = await syncedProxy(runner);
    const proxy = started.proxy;
    let endpoints = started.endpoints;
    for (let i = 3; i <= 7; i++) {
      const next = slice('web', ['10.244.2.1', `10.244.2.${i}`]);
      proxy.onEndpointSliceUpdate(endpoints, next);
      endpoints = next;
      const r = await proxy.sync();
      t.true(r.ok && !r.full, r.error);
    }
    t.is(runner.files, 0, 'no nft -f');
    t.is(runner.starts, 1, 'one nft -i for the full sync and every partial one');
    const map = await list('map ip bosun-proxy endpoints-tcp-10.96.0.0/20');
    t.regex(map, /10\.244\.2\.7 \. 8080/);
    t.notRegex(map, /10\.244\.2\.6 \. 8080/);
  });

  test('a refused partial sync reports nft’s error, changes nothing, and the next sync is full', async (t) => {
    const { ns, runner, list } = await setup('sr');
    const log = recordingLog();
    const { proxy, endpoints } = await syncedProxy(runner, log);
    // Someone else removes an element the next partial sync deletes: nft refuses that sync.
    const sabotage = await lab.inNs(ns, [
      nft,
      'delete',
      'element',
      'ip',
      'bosun-proxy',
      'endpoints-tcp-10.96.0.0/20',
      '{ 10.96.0.10 . 80 . 1 }',
    ]);
    t.is(sabotage.code, 0, sabotage.stderr);
    const moved = slice('web', ['10.244.2.1', '10.244.2.9']);
    proxy.onEndpointSliceUpdate(endpoints, moved);
    const refused = await proxy.sync();
    t.false(refused.ok);
    t.false(refused.full);
    t.regex(refused.error ?? '', /^nft refused the transaction: Error: .*\(in: delete element ip bosun-proxy /);
    t.false(refused.error?.includes('\n'), 'one line');
    t.notRegex(await list('map ip bosun-proxy endpoints-tcp-10.96.0.0/20'), /10\.244\.2\.9/, 'nothing applied');
    const failure = log.warnings.length;
    t.is(failure, 0, 'a refusal is not a lost session');

    const repaired = await proxy.sync();
    t.true(repaired.ok && repaired.full, repaired.error);
    t.regex(await list('map ip bosun-proxy endpoints-tcp-10.96.0.0/20'), /10\.96\.0\.10 \. 80 \. 1 : 10\.244\.2\.9/);
    proxy.onEndpointSliceUpdate(moved, slice('web', ['10.244.2.1', '10.244.2.10']));
    const after = await proxy.sync();
    t.true(after.ok && !after.full, after.error);
    t.is(runner.starts, 1, 'the session outlived the refused transaction');
  });

  test('a transaction through the session is all or nothing', async (t) => {
    const { runner, list } = await setup('sa');
    const apply = applier(runner);
    await apply.apply(declare);
    const err = await t.throwsAsync(
      apply.apply(`${element('10.0.0.1')}add element ${table} nosuch { 10.0.0.2 }\n${element('10.0.0.3')}`),
      { instanceOf: ProxyError },
    );
    t.is(err?.code, ProxyErrorCode.restoreFailed);
    t.regex(err?.message ?? '', /Error: No such file or directory.*\(in: add element ip bosun-session-test nosuch /);
    const set = await list(`set ${table} s`);
    t.notRegex(set, /10\.0\.0\.1/, 'the command before the refused one was not applied');
    t.notRegex(set, /10\.0\.0\.3/);
    await apply.apply(`${element('10.0.0.4')}${element('10.0.0.5')}`);
    t.regex(await list(`set ${table} s`), /10\.0\.0\.4, 10\.0\.0\.5/);
    t.is(runner.files, 0, 'every transaction went to the session');
    t.is(runner.starts, 1);
    apply.close();
  });

  test('a transaction larger than the session takes goes to nft -f', async (t) => {
    const { runner, list } = await setup('sl');
    const apply = applier(runner, { maxBytes: 200 });
    await apply.apply(declare);
    const many = Array.from({ length: 20 }, (_, i) => element(`10.0.1.${i}`)).join('');
    await apply.apply(many);
    t.is(runner.files, 1);
    t.is(runner.starts, 1);
    t.regex(await list(`set ${table} s`), /10\.0\.1\.19/);
    apply.close();
  });

  test('a killed session is replaced; a transaction the session hung on is applied with nft -f', async (t) => {
    const { runner, list } = await setup('sk');
    const log = recordingLog();
    const apply = applier(runner, { timeoutMs: 500 }, log);
    await apply.apply(declare);
    const first = apply.sessionPid!;
    process.kill(first, 'SIGKILL');
    await waitFor('the session noticed its end', async () => (apply.sessionPid === undefined ? true : undefined), 5000);
    await apply.apply(element('10.0.0.1'));
    const second = apply.sessionPid!;
    t.not(second, first);
    t.is(runner.starts, 2);
    // A session that stops answering mid-transaction: it is killed, and nft -f applies the same text.
    process.kill(second, 'SIGSTOP');
    await apply.apply(element('10.0.0.2'));
    t.is(runner.files, 1, 'the hung transaction went to nft -f');
    t.regex(log.warnings[0]?.msg ?? '', /went away/);
    t.regex(JSON.stringify(log.warnings[0]?.obj), /did not answer in time/);
    await apply.apply(element('10.0.0.3'));
    t.is(runner.starts, 3, 'a new session for the next transaction');
    t.regex(await list(`set ${table} s`), /10\.0\.0\.1, 10\.0\.0\.2, 10\.0\.0\.3/);
    apply.close();
  });

  test('a session is replaced after its share of transactions', async (t) => {
    const { runner, list } = await setup('st');
    const apply = applier(runner, { retireAfter: 2 });
    await apply.apply(declare);
    const first = apply.sessionPid;
    await apply.apply(element('10.0.0.1'));
    t.is(apply.sessionPid, undefined, 'retired after two transactions');
    await apply.apply(element('10.0.0.2'));
    t.not(apply.sessionPid, first);
    t.is(runner.starts, 2);
    t.is(runner.files, 0);
    t.regex(await list(`set ${table} s`), /10\.0\.0\.1, 10\.0\.0\.2/);
    apply.close();
  });

  test('where nft -i cannot run, every transaction goes to nft -f after three tries', async (t) => {
    const cannot = ['/bin/sh', '-c', 'echo "nft: interactive CLI not supported in this build" >&2; exit 1'];
    const { runner, list } = await setup('sn', cannot);
    const log = recordingLog();
    const apply = applier(runner, {}, log);
    await apply.apply(declare);
    for (let i = 1; i <= 5; i++) await apply.apply(element(`10.0.0.${i}`));
    t.is(runner.starts, 3);
    t.is(runner.files, 6, 'every transaction applied');
    t.regex(await list(`set ${table} s`), /10\.0\.0\.1, 10\.0\.0\.2, 10\.0\.0\.3, 10\.0\.0\.4, 10\.0\.0\.5/);
    const given = log.warnings.find((w) => /does not work here/.test(w.msg));
    t.regex(JSON.stringify(given?.obj), /interactive CLI not supported/);
  });
}
