/**
 * A stateful fake of the host tools the proxy runs: iptables-{nft,legacy}-{restore,save}, the
 * iptables -S listing, and conntrack. It keeps its tables in an IptablesModel (so a bad payload is
 * refused as the kernel would refuse it), records every call, and fails on request.
 */
import type { CommandResult, CommandRunner } from '../../netproxy/command-runner.ts';
import { IptablesModel, RestoreError } from '../../netproxy/iptables-model.ts';
import type { VirtualServer } from '../../netproxy/ipvs-renderer.ts';

export class FakeHost implements CommandRunner {
  readonly nft = new IptablesModel();
  readonly legacy = new IptablesModel();
  readonly calls: { argv: string[]; input?: string }[] = [];
  readonly conntrackDeletes: string[][] = [];
  /** IPVS side: whether the kernel has ip_vs, the dummy link, its addresses, ipsets, virtual servers. */
  ipvsAvailable = true;
  dummyLink = false;
  readonly dummyAddresses = new Set<string>();
  readonly ipsets = new Map<string, Set<string>>();
  readonly virtualServers = new Map<string, VirtualServer>();
  /** Queued failures: command name -> stderr texts, used one per call. */
  readonly #failures = new Map<string, string[]>();

  failNext(command: string, stderr = 'iptables-restore: line 3 failed'): void {
    const list = this.#failures.get(command) ?? [];
    list.push(stderr);
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
    const failure = this.#failures.get(command)?.shift();
    if (failure !== undefined) return { code: 1, stdout: '', stderr: failure };
    const model = command.includes('legacy') ? this.legacy : this.nft;
    if (command.endsWith('-restore')) {
      if (!args.includes('--noflush')) return { code: 2, stdout: '', stderr: 'fake: the proxy must never restore without --noflush' };
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
      return { code: 0, stdout: [`-N ${chain}`, ...rules.map((r) => `-A ${chain} ${r}`)].join('\n') + '\n', stderr: '' };
    }
    if (command === 'sh' && args[0] === '-c') {
      // Only the form the applier uses: commands joined by "; echo <separator>; ".
      let stdout = '';
      for (const part of (args[1] ?? '').split(';').map((x) => x.trim()).filter(Boolean)) {
        if (part.startsWith('echo ')) stdout += `${part.slice(5)}\n`;
        else stdout += (await this.run(part.split(' '))).stdout;
      }
      return { code: 0, stdout, stderr: '' };
    }
    if (command === 'ip') return this.#ip(args);
    if (command === 'ipset') return this.#ipset(options.input ?? '');
    if (command === 'ipvsadm') return this.#ipvsadm(args, options.input ?? '');
    if (command === 'conntrack') {
      this.conntrackDeletes.push(args);
      return { code: 1, stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n' };
    }
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
      return ok([...this.dummyAddresses].map((a, i) => `${i + 9}: bosun-ipvs0    inet ${a}/32 scope global bosun-ipvs0\\       valid_lft forever`).join('\n'));
    }
    const m = /^addr (add|del) ([\d.]+)\/32 dev bosun-ipvs0$/.exec(joined);
    if (m && this.dummyLink) {
      if (m[1] === 'add') this.dummyAddresses.add(m[2]!);
      else this.dummyAddresses.delete(m[2]!);
      return ok();
    }
    return { code: 1, stdout: '', stderr: `fake ip: unsupported ${joined}` };
  }

  #ipset(input: string): CommandResult {
    for (const line of input.split('\n')) {
      const [op, name = '', member] = line.split(' ');
      if (op === 'create' && !this.ipsets.has(name)) this.ipsets.set(name, new Set());
      else if (op === 'flush') this.ipsets.get(name)?.clear();
      else if (op === 'add' && member !== undefined) this.ipsets.get(name)!.add(member);
    }
    return { code: 0, stdout: '', stderr: '' };
  }

  #ipvsadm(args: string[], input: string): CommandResult {
    if (!this.ipvsAvailable) return { code: 2, stdout: '', stderr: "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?" };
    const flag = { tcp: '-t', udp: '-u', sctp: '--sctp-service' } as const;
    if (args[0] === '-Ln') return { code: 0, stdout: 'IP Virtual Server version 1.2.1\n', stderr: '' };
    if (args[0] === '-Sn') {
      const out: string[] = [];
      for (const v of this.virtualServers.values()) {
        out.push(`-A ${flag[v.protocol]} ${v.address}:${v.port} -s ${v.scheduler}${v.persistenceSeconds ? ` -p ${v.persistenceSeconds}` : ''}`);
        for (const r of v.reals) out.push(`-a ${flag[v.protocol]} ${v.address}:${v.port} -r ${r.address}:${r.port} -m -w 1`);
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
          this.virtualServers.set(key, { protocol, address: m[3]!, port: Number(m[4]), scheduler: /-s (\S+)/.exec(rest)?.[1] ?? 'wlc', persistenceSeconds: Number(/-p (\d+)/.exec(rest)?.[1] ?? 0), reals: [] });
          break;
        case 'D': this.virtualServers.delete(key); break;
        case 'E': if (vs) vs.persistenceSeconds = Number(/-p (\d+)/.exec(rest)?.[1] ?? 0); break;
        case 'a': if (!vs || !real) return { code: 1, stdout: '', stderr: 'No such service' }; vs.reals.push({ address: real[1]!, port: Number(real[2]) }); break;
        case 'd': if (vs && real) vs.reals = vs.reals.filter((r) => !(r.address === real[1] && r.port === Number(real[2]))); break;
      }
    }
    return { code: 0, stdout: '', stderr: '' };
  }
}
