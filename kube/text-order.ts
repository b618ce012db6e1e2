/**
 * Ordering of names, IDs and timestamps by their code units, as Go's sort.Strings orders them
 * upstream. localeCompare would also order them, but its first call loads ICU's collation data
 * (about 2 MiB of the process's memory), and an order that follows a locale is not wanted where
 * the point is a stable, repeatable sequence.
 */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
