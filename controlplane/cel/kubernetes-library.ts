/**
 * The functions Kubernetes adds to standard CEL that the library lacks, so that rules written
 * for upstream clusters compile here: the string extensions (`charAt`, `replace`, `reverse`),
 * the regex ones (`find`, `findAll`) and the list ones (`isSorted`, `sum`, `min`, `max`,
 * `indexOf`, `lastIndexOf`). Regexes are RE2, as upstream's (re2-pattern.ts): linear in time, with
 * RE2's syntax (`(?i)` and the other flag groups) and Go's errors; `matches` too (re2-matches.ts).
 */
import type { Environment } from '@marcbachmann/cel-js';
import { re2Find, re2FindAll } from '../validation/re2-pattern.ts';
import { registerRe2Matches } from './re2-matches.ts';

const compareCel = (a: unknown, b: unknown): number => {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  const x = a as number | bigint;
  const y = b as number | bigint;
  return x < y ? -1 : x > y ? 1 : 0;
};

const sameCel = (a: unknown, b: unknown): boolean => a === b || compareCel(a, b) === 0;

function extreme(list: readonly unknown[], sign: 1 | -1): unknown {
  if (list.length === 0) throw new Error('min called on empty list');
  return list.reduce((best, item) => (compareCel(item, best) * sign > 0 ? item : best));
}

/** Registers the Kubernetes extension functions on `env` (before it is cloned or used). */
export function registerKubernetesLibrary(env: Environment): Environment {
  return registerRe2Matches(env)
    .registerFunction('string.charAt(int): string', (text: string, index: bigint) => {
      if (index < 0n || index > BigInt(text.length)) throw new Error(`index out of range: ${index}`);
      return text.charAt(Number(index));
    })
    .registerFunction('string.replace(string, string): string', (text: string, from: string, to: string) =>
      text.split(from).join(to),
    )
    .registerFunction(
      'string.replace(string, string, int): string',
      (text: string, from: string, to: string, n: bigint) => {
        if (n < 0n) return text.split(from).join(to);
        const parts = text.split(from);
        const limit = Number(n);
        return (
          parts.slice(0, limit + 1).join(to) +
          (parts.length > limit + 1 ? from + parts.slice(limit + 1).join(from) : '')
        );
      },
    )
    .registerFunction('string.reverse(): string', (text: string) => [...text].reverse().join(''))
    .registerFunction('string.find(string): string', (text: string, pattern: string) => re2Find(pattern, text))
    .registerFunction('string.findAll(string): list<string>', (text: string, pattern: string) =>
      re2FindAll(pattern, text),
    )
    .registerFunction('list.isSorted(): bool', (list: unknown[]) =>
      list.every((item, i) => i === 0 || compareCel(list[i - 1], item) <= 0),
    )
    .registerFunction('list.sum(): dyn', (list: unknown[]) =>
      list.length === 0 ? 0n : list.reduce((total, item) => (total as bigint) + (item as bigint)),
    )
    .registerFunction('list.min(): dyn', (list: unknown[]) => extreme(list, -1))
    .registerFunction('list.max(): dyn', (list: unknown[]) => extreme(list, 1))
    .registerFunction('list.indexOf(dyn): int', (list: unknown[], wanted: unknown) =>
      BigInt(list.findIndex((item) => sameCel(item, wanted))),
    )
    .registerFunction('list.lastIndexOf(dyn): int', (list: unknown[], wanted: unknown) =>
      BigInt(list.findLastIndex((item) => sameCel(item, wanted))),
    );
}
