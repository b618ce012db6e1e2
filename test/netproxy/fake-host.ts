/**
 * A stateful fake of the host tools the proxy runs: iptables-{nft,legacy}-{restore,save}, the
 * iptables -S listing, conntrack, ipset, ip, ipvsadm and `sh -c`. It keeps its tables in an
 * IptablesModel (so a bad payload is refused as the kernel would refuse it), a conntrack flow
 * table that `conntrack -D` deletes from, and ipsets that refuse what ipset refuses; it records
 * every call, and fails on request (failNext, for any command, also inside `sh -c`; `absent` for a
 * tool that is not installed: spawning it is refused, and `sh -c` answers 127 "not found").
 */
import type { CommandResult, CommandRunner } from '../../netproxy/command-runner.ts';
import { IptablesModel, RestoreError } from '../../netproxy/iptables-model.ts';
import type { VirtualServer } from '../../netproxy/ipvs-renderer.ts';

/** One connection in the fake's conntrack table, in the terms `conntrack -D` filters on. */
export interface ConntrackFlow {
  protocol: 'tcp' | 'udp' | 'sctp';
  origDst: string;
  origDport: number;
  /** The endpoint that answers (after DNAT). */
  replySrc: string;
}

const conntrackBanner = 'conntrack v1.4.7 (conntrack-tools)';
const ipsetBanner = 'ipset v7.17';

export class FakeHost implements CommandRunner {
  readonly nft = new IptablesModel();
  readonly legacy = new IptablesModel();
  readonly calls: { argv: string[]; input?: string }[] = [];
  readonly conntrackDeletes: string[][] = [];
  /** The conntrack table; tests add flows, `conntrack -D` removes the matching ones. */
  readonly flows: ConntrackFlow[] = [];
  /** IPVS side: whether the kernel has ip_vs, the dummy link, its addresses, ipsets, virtual servers. */
  ipvsAvailable = true;
  dummyLink = false;
  readonly dummyAddresses = new Set<string>();
  readonly ipsets = new Map<string, Set<string>>();
  readonly virtualServers = new Map<string, VirtualServer>();
  /** Tools not installed on this host (Debian without the conntrack or ipset package). */
  readonly absent = new Set<string>();
  /** Queued failures: command name -> exit code and stderr, used one per call. */
  readonly #failures = new Map<string, { code: number; stderr: string }[]>();

  /** The next call of `command` exits with `code` and `stderr`, changing nothing. */
  failNext(command: string, stderr = 'iptables-restore: line 3 failed', code = 1): void {
    const list = this.#failures.get(command) ?? [];
    list.push({ code, stderr });
    this.#failures.set(command, list);
  }

  restores(): string[] {
    return this.calls.filter((c) => c.argv[0]!.endsWith('-restore')).map((c) => c.input ?? '');
  }

  async run(argv: readonly string[], options: { input?: string } = {}): Promise<CommandResult> {
    const call: { argv: string[]; input?: string } = { argv: [...argv] };
    if (options.input !== undefined) call.input = options.input;
    this.calls.push(call);
    const [command = '', ...args] = argv;
    if (this.absent.has(command)) {
      // what spawn does with a missing program: the runner's promise rejects, no exit code at all
      throw Object.assign(new Error(`spawn ${command} ENOENT`), { code: 'ENOENT', syscall: `spawn ${command}` });
    }
    const failure = this.#failures.get(command)?.shift();
    if (failure !== undefined) return { code: failure.code, stdout: '', stderr: failure.stderr };
    const model = command.includes('legacy') ? this.legacy : this.nft;
    if (command.endsWith('-restore')) {
      if (!args.includes('--noflush'))
        return { code: 2, stdout: '', stderr: 'fake: the proxy must never restore without --noflush' };
      try {
        model.restore(options.input ?? '');
        return { code: 0, stdout: '', stderr: '' };
      } catch (err) {
        if (err instanceof RestoreError) return { code: 1, stdout: '', stderr: `iptables-restore: ${err.message}` };
        throw err;
      }
    }
    if (command.endsWith('-save')) {
      const t = args.indexOf('-t');
      return { code: 0, stdout: model.save(t >= 0 ? args[t + 1] : undefined), stderr: '' };
    }
    if (command === 'iptables-nft' || command === 'iptables-legacy') {
      const table = args[args.indexOf('-t') + 1] ?? 'filter';
      const chain = args[args.indexOf('-S') + 1] ?? '';
      const rules = model.tables.get(table)?.get(chain);
      if (rules === undefined) return { code: 1, stdout: '', stderr: `iptables: No chain/target/match by that name.` };
      return {
        code: 0,
        stdout: [`-N ${chain}`, ...rules.map((r) => `-A ${chain} ${r}`)].join('\n') + '\n',
        stderr: '',
      };
    }
    if (command === 'sh' && args[0] === '-c') {
      // Only the form the applier uses: commands joined by "; echo <separator>; ". As sh does, every
      // part runs whatever the one before returned, stderr is passed on, the last part's code is sh's.
      let stdout = '';
      let stderr = '';
      let code = 0;
      for (const part of (args[1] ?? '')
        .split(';')
        .map((x) => x.trim())
        .filter(Boolean)) {
        const words = part.split(' ');
        const result = part.startsWith('echo ')
          ? { code: 0, stdout: `${part.slice(5)}\n`, stderr: '' }
          : this.absent.has(words[0]!)
            ? { code: 127, stdout: '', stderr: `sh: 1: ${words[0]}: not found\n` }
            : await this.run(words);
        stdout += result.stdout;
        stderr += result.stderr;
        code = result.code;
      }
      return { code, stdout, stderr };
    }
    if (command === 'ip') return this.#ip(args);
    if (command === 'ipset') return this.#ipset(args, options.input ?? '');
    if (command === 'ipvsadm') return this.#ipvsadm(args, options.input ?? '');
    if (command === 'conntrack') return this.#conntrack(args);
    return { code: 127, stdout: '', stderr: `fake: unknown command ${command}` };
  }

  #ip(args: string[]): CommandResult {
    const ok = (stdout = '') => ({ code: 0, stdout, stderr: '' });
    const joined = args.join(' ');
    if (joined === 'link add bosun-ipvs0 type dummy') {
      if (this.dummyLink) return { code: 2, stdout: '', stderr: 'RTNETLINK answers: File exists' };
      this.dummyLink = true;
      return ok();
    }
    if (joined === 'link set bosun-ipvs0 up') return ok();
    if (joined === '-o -4 addr show dev bosun-ipvs0') {
      return ok(
        [...this.dummyAddresses]
          .map((a, i) => `${i + 9}: bosun-ipvs0    inet ${a}/32 scope global bosun-ipvs0\\       valid_lft forever`)
          .join('\n'),
      );
    }
    const m = /^addr (add|del) ([\d.]+)\/32 dev bosun-ipvs0$/.exec(joined);
    if (m && this.dummyLink) {
      if (m[1] === 'add') this.dummyAddresses.add(m[2]!);
      else this.dummyAddresses.delete(m[2]!);
      return ok();
    }
    return { code: 1, stdout: '', stderr: `fake ip: unsupported ${joined}` };
  }

  /** `conntrack -D -p <proto> [--orig-dst a] [--orig-port-dst p] [--reply-src e]`; exits 1 when nothing matched, as the tool does. */
  #conntrack(args: string[]): CommandResult {
    this.conntrackDeletes.push(args);
    const value = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
    if (args[0] !== '-D' || value('-p') === undefined)
      return { code: 2, stdout: '', stderr: `${conntrackBanner}: fake: unsupported ${args.join(' ')}\n` };
    // a filter the fake does not model must not be read as "any": conntrack itself refuses what it
    // does not know, and a planner emitting a new filter has to teach this fake first
    const known = new Set(['-p', '--orig-dst', '--orig-port-dst', '--reply-src']);
    for (let i = 1; i < args.length; i += 2) {
      if (!known.has(args[i]!) || args[i + 1] === undefined)
        return { code: 2, stdout: '', stderr: `${conntrackBanner}: fake: unknown or incomplete option ${args[i]}\n` };
    }
    const matches = (f: ConntrackFlow) =>
      f.protocol === value('-p') &&
      (value('--orig-dst') ?? f.origDst) === f.origDst &&
      (value('--orig-port-dst') ?? String(f.origDport)) === String(f.origDport) &&
      (value('--reply-src') ?? f.replySrc) === f.replySrc;
    const kept = this.flows.filter((f) => !matches(f));
    const deleted = this.flows.length - kept.length;
    this.flows.splice(0, this.flows.length, ...kept);
    return {
      code: deleted > 0 ? 0 : 1,
      stdout: '',
      stderr: `${conntrackBanner}: ${deleted} flow entries have been deleted.\n`,
    };
  }

  /**
   * `ipset restore [-exist]` as ipset reads it: lines apply in order until one fails (those before
   * it stay applied). Without -exist, creating an existing set or adding a present member is refused.
   */
  #ipset(args: string[], input: string): CommandResult {
    if (args[0] !== 'restore')
      return { code: 1, stdout: '', stderr: `${ipsetBanner}: fake: unsupported ${args.join(' ')}\n` };
    const lines = input.split('\n');
    for (const [i, line] of lines.entries()) {
      if (line.trim() === '') continue;
      const words = line.split(' ');
      const exist = args.includes('-exist') || words.includes('-exist');
      const [op, name = '', member] = words;
      const set = this.ipsets.get(name);
      const fail = (why: string) => ({
        code: 1,
        stdout: '',
        stderr: `${ipsetBanner}: Error in line ${i + 1}: ${why}\n`,
      });
      if (op === 'create') {
        if (set !== undefined && !exist) return fail('Set cannot be created: set with the same name already exists');
        if (set === undefined) this.ipsets.set(name, new Set());
      } else if (set === undefined) {
        return fail('The set with the given name does not exist');
      } else if (op === 'flush') {
        set.clear();
      } else if (op === 'add' && member !== undefined) {
        if (set.has(member) && !exist) return fail("Element cannot be added to the set: it's already added");
        set.add(member);
      } else if (op === 'del' && member !== undefined) {
        if (!set.has(member) && !exist) return fail("Element cannot be deleted from the set: it's not added");
        set.delete(member);
      } else if (op === 'destroy') {
        this.ipsets.delete(name);
      } else {
        return fail(`fake: unsupported ${line}`);
      }
    }
    return { code: 0, stdout: '', stderr: '' };
  }

  #ipvsadm(args: string[], input: string): CommandResult {
    if (!this.ipvsAvailable)
      return {
        code: 2,
        stdout: '',
        stderr:
          "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?",
      };
    const flag = { tcp: '-t', udp: '-u', sctp: '--sctp-service' } as const;
    if (args[0] === '-Ln') return { code: 0, stdout: 'IP Virtual Server version 1.2.1\n', stderr: '' };
    if (args[0] === '-Sn') {
      const out: string[] = [];
      for (const v of this.virtualServers.values()) {
        out.push(
          `-A ${flag[v.protocol]} ${v.address}:${v.port} -s ${v.scheduler}${v.persistenceSeconds ? ` -p ${v.persistenceSeconds}` : ''}`,
        );
        for (const r of v.reals)
          out.push(`-a ${flag[v.protocol]} ${v.address}:${v.port} -r ${r.address}:${r.port} -m -w 1`);
      }
      return { code: 0, stdout: `${out.join('\n')}\n`, stderr: '' };
    }
    for (const line of input.split('\n').filter(Boolean)) {
      const m = /^-([ADEad]) (-t|-u|--sctp-service) ([\d.]+):(\d+)(.*)$/.exec(line);
      if (m === null) return { code: 1, stdout: '', stderr: `fake ipvsadm: cannot parse ${line}` };
      const protocol = m[2] === '-t' ? 'tcp' : m[2] === '-u' ? 'udp' : 'sctp';
      const key = `${protocol}|${m[3]}|${m[4]}`;
      const rest = m[5] ?? '';
      const vs = this.virtualServers.get(key);
      const real = /-r ([\d.]+):(\d+)/.exec(rest);
      switch (m[1]) {
        case 'A':
          if (vs) return { code: 1, stdout: '', stderr: 'Service already exists' };
          this.virtualServers.set(key, {
            protocol,
            address: m[3]!,
            port: Number(m[4]),
            scheduler: /-s (\S+)/.exec(rest)?.[1] ?? 'wlc',
            persistenceSeconds: Number(/-p (\d+)/.exec(rest)?.[1] ?? 0),
            reals: [],
          });
          break;
        case 'D':
          this.virtualServers.delete(key);
          break;
        case 'E':
          if (vs) vs.persistenceSeconds = Number(/-p (\d+)/.exec(rest)?.[1] ?? 0);
          break;
        case 'a':
          if (!vs || !real) return { code: 1, stdout: '', stderr: 'No such service' };
          vs.reals.push({ address: real[1]!, port: Number(real[2]) });
          break;
        case 'd':
          if (vs && real) vs.reals = vs.reals.filter((r) => !(r.address === real[1] && r.port === Number(real[2])));
          break;
      }
    }
    return { code: 0, stdout: '', stderr: '' };
  }
}
