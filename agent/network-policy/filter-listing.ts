/**
 * What iptables prints about the filter table, read back: `iptables-save -c` and `iptables -S [-v]`
 * (also when run inside one iptables-restore) become chains with their rules and counters. Pure.
 *
 * Words are read as iptables quotes them: a word with spaces or quotes is printed in double quotes
 * with `"` and `\` escaped, and a newline inside it is printed as it is. So a rule ends only at a
 * newline outside quotes, and a comment written by hand cannot pass for a rule or a chain.
 */

interface ListedRule {
  /** The rule's words after `-A <chain>`, unquoted, without its counters. */
  readonly args: readonly string[];
  readonly packets: number;
  readonly bytes: number;
}

/** Chains in the order listed, each with its rules in order (none for a chain listed empty). */
export type FilterListing = ReadonlyMap<string, readonly ListedRule[]>;

const space = 0x20;
const tab = 0x09;
const lineEnd = 0x0a;
const quote = 0x22;
const backslash = 0x5c;
/**
 * A quoted word holds at most this many characters (an escape counts once; iptables' comments hold
 * 256 bytes). An unmatched or overlong quote makes a plain word instead, so hostile text costs
 * linear time and cannot swallow more than this of the lines after it.
 */
const longestQuoted = 4096;

/** Where the quoted word whose opening quote is just before `from` closes, or -1 when it does not. */
function closingQuote(text: string, from: number): number {
  let at = from;
  for (let units = 0; units <= longestQuoted && at < text.length; units++) {
    const c = text.charCodeAt(at);
    if (c === quote) return at;
    at += c === backslash ? 2 : 1;
  }
  return -1;
}

const isBlank = (c: number) => c === space || c === tab || c === lineEnd;

/** The text as lines of words (one pass over the characters: a full table is a megabyte). */
export function listingLines(text: string): string[][] {
  const lines: string[][] = [];
  let line: string[] = [];
  let at = 0;
  while (at < text.length) {
    const c = text.charCodeAt(at);
    if (c === space || c === tab) {
      at++;
      continue;
    }
    if (c === lineEnd) {
      if (line.length > 0) lines.push(line);
      line = [];
      at++;
      continue;
    }
    const close = c === quote ? closingQuote(text, at + 1) : -1;
    if (close >= 0) {
      const word = text.slice(at + 1, close);
      line.push(word.includes('\\') ? word.replaceAll(/\\([^])/g, '$1') : word);
      at = close + 1;
      continue;
    }
    let end = at + 1;
    while (end < text.length && !isBlank(text.charCodeAt(end))) end++;
    line.push(text.slice(at, end));
    at = end;
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

const count = (word: string | undefined): number | undefined =>
  word !== undefined && /^\d{1,20}$/.test(word) ? Number(word) : undefined;

/** A rule's words without `-c <packets> <bytes>` (where `iptables -S -v` prints them), and the counts. */
function withoutCounters(words: readonly string[]): ListedRule {
  for (let i = 0; i < words.length; i++) {
    if (words[i] !== '-c' || words[i - 1] === '--comment') continue;
    const packets = count(words[i + 1]);
    const bytes = count(words[i + 2]);
    if (packets !== undefined && bytes !== undefined)
      return { args: [...words.slice(0, i), ...words.slice(i + 3)], packets, bytes };
  }
  return { args: words, packets: 0, bytes: 0 };
}

/** `[12:720]`, the counters iptables-save -c prints before a rule. */
const savedCounters = /^\[(\d{1,20}):(\d{1,20})\]$/;

/**
 * The filter table's chains and rules. Lines of another table (`*nat`) and anything that is not a
 * chain or a rule (`#` notes, COMMIT, error text) are left out; a listing without `*` lines (an
 * `iptables -S`) is the filter table's.
 */
export function parseFilterListing(text: string): FilterListing {
  const chains = new Map<string, ListedRule[]>();
  const chain = (name: string): ListedRule[] => {
    let rules = chains.get(name);
    if (rules === undefined) chains.set(name, (rules = []));
    return rules;
  };
  let filter = true;
  for (const words of listingLines(text)) {
    const [first = '', second, third] = words;
    if (first.startsWith('*')) filter = first === '*filter';
    else if (!filter) continue;
    else if (first.length > 1 && first.startsWith(':')) chain(first.slice(1));
    else if ((first === '-N' || first === '-P') && second !== undefined) chain(second);
    else if (first === '-A' && second !== undefined) chain(second).push(withoutCounters(words.slice(2)));
    else if (second === '-A' && third !== undefined) {
      const counters = savedCounters.exec(first);
      if (counters === null) continue;
      chain(third).push({ args: words.slice(3), packets: Number(counters[1]), bytes: Number(counters[2]) });
    }
  }
  return chains;
}
