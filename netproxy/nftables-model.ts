/**
 * An in-memory nftables table, changed by `nft -f` transactions in the subset of the language the
 * nftables renderer writes, with the kernel's checks: a rule or element that refers to a missing
 * chain, set or map; deleting a chain or set that something still refers to; an element added
 * again under another verdict; deleting what does not exist. All or nothing, as the kernel's
 * transactions are. The nftables packet tracer walks it, and the fake host keeps its state in it.
 */

export class NftError extends Error {
  readonly line: number;
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'NftError';
    this.line = line;
  }
}

interface NftChain {
  /** `type nat hook prerouting priority dstnat` for a base chain */
  hook?: { type: string; hook: string; priority: number };
  rules: string[];
}

interface NftSet {
  /** maps only: key -> verdict */
  verdicts?: Map<string, string>;
  elements: Set<string>;
  spec: string;
}

export interface NftTable {
  chains: Map<string, NftChain>;
  sets: Map<string, NftSet>;
}

const priorities: Record<string, number> = { dstnat: -100, srcnat: 100, filter: 0 };

/** Splits `{ a, b : c }` items at top-level commas. */
function items(body: string): string[] {
  return body
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Chains a rule or verdict jumps to, and sets it names. */
function references(text: string): { chains: string[]; sets: string[] } {
  const chains = [...text.matchAll(/\b(?:jump|goto) (\S+?)(?=[,\s}]|$)/g)].map((m) => m[1]!);
  const sets = [...text.matchAll(/@([A-Za-z0-9_./-]+)/g)].map((m) => m[1]!);
  return { chains, sets };
}

export class NftModel {
  tables = new Map<string, NftTable>();

  clone(): NftModel {
    const copy = new NftModel();
    for (const [name, t] of this.tables) {
      copy.tables.set(name, {
        chains: new Map([...t.chains].map(([c, v]) => [c, { ...v, rules: [...v.rules] }])),
        sets: new Map(
          [...t.sets].map(([s, v]) => [
            s,
            {
              spec: v.spec,
              elements: new Set(v.elements),
              ...(v.verdicts === undefined ? {} : { verdicts: new Map(v.verdicts) }),
            },
          ]),
        ),
      });
    }
    return copy;
  }

  /** Applies a transaction; on error nothing changes. */
  apply(transaction: string): void {
    const work = this.clone();
    const lines = transaction.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '' || line.startsWith('#')) continue;
      work.#command(line, i + 1);
    }
    work.#check(lines.length);
    this.tables = work.tables;
  }

  #table(name: string, n: number): NftTable {
    const t = this.tables.get(name);
    if (t === undefined) throw new NftError(`No such file or directory: table ${name}`, n);
    return t;
  }

  #command(line: string, n: number): void {
    const m = /^(add|delete|flush) (table|chain|map|set|element|rule) (\S+) (\S+)\s*(.*)$/.exec(line);
    if (m === null) throw new NftError(`syntax error: ${line}`, n);
    const [, verb, what, family = '', tableName = '', rest = ''] = m;
    const key = `${family} ${tableName}`;
    if (what === 'table') {
      if (verb === 'add') {
        if (!this.tables.has(key)) this.tables.set(key, { chains: new Map(), sets: new Map() });
      } else if (verb === 'delete') {
        this.#table(key, n);
        this.tables.delete(key);
      } else {
        const t = this.#table(key, n);
        for (const c of t.chains.values()) c.rules.length = 0;
      }
      return;
    }
    const t = this.#table(key, n);
    const name = /^(\S+)/.exec(rest)?.[1] ?? '';
    const after = rest.slice(name.length).trim();
    switch (`${verb} ${what}`) {
      case 'add chain': {
        const h = /^\{ type (\S+) hook (\S+) priority (\S+) ; \}$/.exec(after);
        if (!t.chains.has(name)) {
          const chain: NftChain = { rules: [] };
          if (h !== null) chain.hook = { type: h[1]!, hook: h[2]!, priority: priorities[h[3]!] ?? Number(h[3]) };
          t.chains.set(name, chain);
        }
        return;
      }
      case 'flush chain':
        this.#chain(t, name, n).rules.length = 0;
        return;
      case 'delete chain': {
        this.#chain(t, name, n);
        for (const [other, c] of t.chains)
          if (other !== name && c.rules.some((r) => references(r).chains.includes(name)))
            throw new NftError(`Device or resource busy: chain ${name} is used by ${other}`, n);
        for (const [set, s] of t.sets)
          for (const v of s.verdicts?.values() ?? [])
            if (references(v).chains.includes(name))
              throw new NftError(`Device or resource busy: chain ${name} is used by map ${set}`, n);
        t.chains.delete(name);
        return;
      }
      case 'add map':
      case 'add set': {
        const known = t.sets.get(name);
        if (known !== undefined && known.spec !== after) throw new NftError(`File exists: ${what} ${name}`, n);
        if (known === undefined)
          t.sets.set(name, { spec: after, elements: new Set(), ...(what === 'map' ? { verdicts: new Map() } : {}) });
        return;
      }
      case 'flush map':
      case 'flush set': {
        const s = this.#set(t, name, n);
        s.elements.clear();
        s.verdicts?.clear();
        return;
      }
      case 'delete map':
      case 'delete set': {
        this.#set(t, name, n);
        for (const [chain, c] of t.chains)
          if (c.rules.some((r) => references(r).sets.includes(name)))
            throw new NftError(`Device or resource busy: set ${name} is used by ${chain}`, n);
        t.sets.delete(name);
        return;
      }
      case 'add element':
      case 'delete element': {
        const s = this.#set(t, name, n);
        const body = /^\{(.*)\}$/.exec(after)?.[1];
        if (body === undefined) throw new NftError(`syntax error: ${line}`, n);
        for (const item of items(body)) {
          const [elementKey = '', verdict] = item.split(' : ').map((x) => x.trim());
          if (verb === 'delete') {
            if (!s.elements.delete(elementKey)) throw new NftError(`No such file or directory: ${elementKey}`, n);
            s.verdicts?.delete(elementKey);
            continue;
          }
          if (s.verdicts !== undefined) {
            if (verdict === undefined) throw new NftError(`map ${name} needs a verdict for ${elementKey}`, n);
            const known = s.verdicts.get(elementKey);
            if (known !== undefined && known !== verdict) throw new NftError(`File exists: ${elementKey}`, n);
            s.verdicts.set(elementKey, verdict);
          }
          s.elements.add(elementKey);
        }
        return;
      }
      case 'add rule':
        this.#chain(t, name, n).rules.push(after);
        return;
      default:
        throw new NftError(`unsupported command: ${verb} ${what}`, n);
    }
  }

  #chain(t: NftTable, name: string, n: number): NftChain {
    const c = t.chains.get(name);
    if (c === undefined) throw new NftError(`No such file or directory: chain ${name}`, n);
    return c;
  }

  #set(t: NftTable, name: string, n: number): NftSet {
    const s = t.sets.get(name);
    if (s === undefined) throw new NftError(`No such file or directory: set ${name}`, n);
    return s;
  }

  /** What the kernel refuses at commit: references to chains and sets that do not exist. */
  #check(n: number): void {
    for (const t of this.tables.values()) {
      const texts: [string, string][] = [];
      for (const [chain, c] of t.chains) for (const r of c.rules) texts.push([chain, r]);
      for (const [set, s] of t.sets) for (const v of s.verdicts?.values() ?? []) texts.push([`map ${set}`, v]);
      for (const [where, text] of texts) {
        const refs = references(text);
        for (const c of refs.chains)
          if (!t.chains.has(c)) throw new NftError(`${where} refers to missing chain ${c}`, n);
        for (const s of refs.sets) if (!t.sets.has(s)) throw new NftError(`${where} refers to missing set ${s}`, n);
      }
    }
  }

  /** Rules in every table, for tests. */
  ruleCount(): number {
    let count = 0;
    for (const t of this.tables.values()) for (const c of t.chains.values()) count += c.rules.length;
    return count;
  }
}
