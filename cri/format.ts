/**
 * How `bosun cri` prints things, matching crictl so that habits and scripts carry over:
 * tables aligned like Go's tabwriter with crictl's settings (cells at least 20 wide, 3 spaces of
 * padding), IDs cut to 13 characters, ages as "17 seconds ago", sizes in decimal units with three
 * significant digits ("2.13MB").
 */

/** crictl's cut of long IDs. */
const truncatedIdLength = 13;

export function truncateId(id: string, prefix = 'sha256:'): string {
  const bare = id.startsWith(prefix) ? id.slice(prefix.length) : id;
  return bare.slice(0, truncatedIdLength);
}

/** Go's units.HumanDuration wording. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** "17 seconds ago" for a CRI nanosecond timestamp. */
export function humanAge(createdAtNs: number, nowMs: number): string {
  return `${humanDuration(Math.max(0, nowMs - createdAtNs / 1e6))} ago`;
}

const decimalUnits = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** Decimal size with three significant digits: 701664 -> "702kB", 2127492 -> "2.13MB". */
export function humanSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < decimalUnits.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${Number(value.toPrecision(3))}${decimalUnits[unit]}`;
}

/** 'CONTAINER_RUNNING' -> 'Running'; 'SANDBOX_NOTREADY' -> 'NotReady'. */
export function displayState(state: string): string {
  if (state === 'SANDBOX_READY') return 'Ready';
  if (state === 'SANDBOX_NOTREADY') return 'NotReady';
  const word = state.replace(/^CONTAINER_/, '').toLowerCase();
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Aligned columns as crictl prints them; the last column is not padded. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(20, ...all.map((row) => (row[column] ?? '').length + 3)));
  return all
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
        .join('')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** Splits 'repo/name:tag' (or 'repo@sha256:...') into the IMAGE and TAG columns. */
export function splitImageRef(ref: string): { repo: string; tag: string } {
  const at = ref.indexOf('@');
  if (at !== -1) return { repo: ref.slice(0, at), tag: '<none>' };
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: '<none>' };
}
