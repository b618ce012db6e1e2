/**
 * An in-memory iptables: tables of chains of rule lines, changed by `iptables-restore --noflush`
 * payloads with the kernel's checks (unknown jump targets, deleting a chain that is still used or
 * not empty, over-long names, a built-in chain that cannot be deleted). The packet tracer walks it,
 * and the fake host in tests keeps its state in it.
 */
import { maxChainNameLength } from './chain-names.ts';

const builtinChains: Record<string, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/** Targets that are not chains. */
const builtinTargets = new Set([
  'ACCEPT',
  'DROP',
  'REJECT',
  'RETURN',
  'DNAT',
  'SNAT',
  'MASQUERADE',
  'MARK',
  'LOG',
  'CONNMARK',
]);

export class RestoreError extends Error {
  readonly line: number;
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'RestoreError';
    this.line = line;
  }
}

type Tables = Map<string, Map<string, string[]>>;

function emptyTable(name: string): Map<string, string[]> {
  return new Map((builtinChains[name] ?? []).map((c) => [c, []]));
}

/** The `-j X` of a rule line, if any. */
export function jumpTarget(args: string): string | undefined {
  const m = / -j (\S+)/.exec(` ${args}`);
  return m?.[1];
}

export class IptablesModel {
  tables: Tables = new Map();

  table(name: string): Map<string, string[]> {
    let t = this.tables.get(name);
    if (t === undefined) this.tables.set(name, (t = emptyTable(name)));
    return t;
  }

  clone(): IptablesModel {
    const copy = new IptablesModel();
    for (const [name, chains] of this.tables) {
      copy.tables.set(name, new Map([...chains].map(([c, rules]) => [c, [...rules]])));
    }
    return copy;
  }

  /**
   * Applies a restore payload as `iptables-restore --noflush` does: a declared chain is created or
   * flushed, other chains are left alone. All or nothing: on error nothing changes.
   */
  restore(payload: string): void {
    const work = this.clone();
    let current: Map<string, string[]> | undefined;
    let currentName = '';
    const lines = payload.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const n = i + 1;
      const line = lines[i]!.trim();
      if (line === '' || line.startsWith('#')) continue;
      if (line.startsWith('*')) {
        currentName = line.slice(1);
        current = work.table(currentName);
        continue;
      }
      if (current === undefined) throw new RestoreError('rule outside a table', n);
      if (line === 'COMMIT') {
        work.#check(currentName, n);
        current = undefined;
        continue;
      }
      if (line.startsWith(':')) {
        const name = line.slice(1).split(' ')[0]!;
        if (name.length > maxChainNameLength) throw new RestoreError(`chain name too long: ${name}`, n);
        const isBuiltin = builtinChains[currentName]?.includes(name) ?? false;
        if (!isBuiltin) current.set(name, []);
        continue;
      }
      work.#command(current, line, n);
    }
    if (current !== undefined) throw new RestoreError('missing COMMIT', lines.length);
    this.tables = work.tables;
  }

  /** Runs one command line (`-A chain ...`, `-I`, `-D`, `-N`, `-X`, `-F`) against a table. */
  command(table: string, line: string): void {
    const work = this.clone();
    work.#command(work.table(table), line, 1);
    work.#check(table, 1);
    this.tables = work.tables;
  }

  #command(t: Map<string, string[]>, line: string, n: number): void {
    const m = /^(-[AIDNXF])\s+(\S+)\s*(.*)$/.exec(line);
    if (m === null) throw new RestoreError(`cannot parse: ${line}`, n);
    const [, op, chain = '', rest = ''] = m;
    const rules = t.get(chain);
    switch (op) {
      case '-N':
        if (rules !== undefined) throw new RestoreError(`chain already exists: ${chain}`, n);
        t.set(chain, []);
        return;
      case '-F':
        if (rules === undefined) throw new RestoreError(`no chain ${chain}`, n);
        rules.length = 0;
        return;
      case '-X': {
        if (rules === undefined) throw new RestoreError(`no chain ${chain}`, n);
        if (rules.length > 0) throw new RestoreError(`chain ${chain} is not empty`, n);
        for (const [other, list] of t) {
          if (list.some((r) => jumpTarget(r) === chain))
            throw new RestoreError(`chain ${chain} is used by ${other}`, n);
        }
        t.delete(chain);
        return;
      }
      default:
        break;
    }
    if (rules === undefined) throw new RestoreError(`no chain ${chain}`, n);
    if (op === '-A') rules.push(rest);
    else if (op === '-I') {
      const pos = /^(\d+)\s+(.*)$/.exec(rest);
      if (pos) rules.splice(Number(pos[1]) - 1, 0, pos[2]!);
      else rules.unshift(rest);
    } else {
      const at = rules.indexOf(rest);
      if (at < 0) throw new RestoreError(`no such rule in ${chain}`, n);
      rules.splice(at, 1);
    }
  }

  #check(tableName: string, n: number): void {
    const t = this.table(tableName);
    for (const [chain, rules] of t) {
      for (const r of rules) {
        const target = jumpTarget(r);
        if (target !== undefined && !builtinTargets.has(target) && !t.has(target)) {
          throw new RestoreError(`${chain} jumps to missing chain ${target}`, n);
        }
      }
    }
  }

  /** `iptables-save`-like text of one or all tables. */
  save(only?: string): string {
    const out: string[] = [];
    for (const [name, chains] of this.tables) {
      if (only !== undefined && name !== only) continue;
      out.push(`*${name}`);
      for (const c of chains.keys()) out.push(`:${c} ${builtinChains[name]?.includes(c) ? 'ACCEPT' : '-'} [0:0]`);
      for (const [c, rules] of chains) for (const r of rules) out.push(`-A ${c} ${r}`);
      out.push('COMMIT');
    }
    return `${out.join('\n')}\n`;
  }

  /** Total rule count, for tests. */
  ruleCount(): number {
    let n = 0;
    for (const t of this.tables.values()) for (const rules of t.values()) n += rules.length;
    return n;
  }
}
