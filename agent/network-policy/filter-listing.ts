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

/**
 * A blank, a line end, a quoted word, or a plain word. A quoted word is at most 4,096 characters
 * (iptables' comments hold 256 bytes): an unmatched or overlong quote is read as a plain word, so
 * hostile text costs linear time and cannot swallow the lines after it.
 */
const token = /[ \t]+|\n|"((?:[^"\\]|\\[^]){0,4096})"|[^ \t\n]+/y;

/** The text as lines of words. */
export function listingLines(text: string): string[][] {
  const lines: string[][] = [];
  let line: string[] = [];
  token.lastIndex = 0;
  for (let m = token.exec(text); m !== null; m = token.exec(text)) {
    const [whole, quoted] = m;
    if (whole === '\n') {
      if (line.length > 0) lines.push(line);
      line = [];
    } else if (quoted !== undefined) line.push(quoted.replaceAll(/\\([^])/g, '$1'));
    else if (whole[0] !== ' ' && whole[0] !== '\t') line.push(whole);
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
  for (const [first = '', second, ...rest] of listingLines(text)) {
    if (first.startsWith('*')) filter = first === '*filter';
    else if (!filter) continue;
    else if (first.length > 1 && first.startsWith(':')) chain(first.slice(1));
    else if ((first === '-N' || first === '-P') && second !== undefined) chain(second);
    else if (first === '-A' && second !== undefined) chain(second).push(withoutCounters(rest));
    else if (second === '-A' && rest[0] !== undefined) {
      const counters = savedCounters.exec(first);
      if (counters === null) continue;
      chain(rest[0]).push({ args: rest.slice(1), packets: Number(counters[1]), bytes: Number(counters[2]) });
    }
  }
  return chains;
}
