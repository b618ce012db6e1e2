/**
 * Go's time.Duration as text, which metav1.Duration carries in JSON ("15.004s", "1m0.5s",
 * "500ms", "1h2m3s"): written as Duration.String() writes it and read as time.ParseDuration reads
 * it, both in whole nanoseconds (a Number holds them exactly up to some 104 days).
 */

/** Digits after the point with trailing zeros dropped ("004" stays, "500" becomes "5"). */
function fraction(value: number, digits: number): string {
  const text = String(value).padStart(digits, '0').replace(/0+$/, '');
  return text === '' ? '' : `.${text}`;
}

export function formatGoDuration(nanoseconds: number): string {
  const sign = nanoseconds < 0 ? '-' : '';
  const total = Math.abs(Math.round(nanoseconds));
  if (total === 0) return '0s';
  if (total < 1e3) return `${sign}${total}ns`;
  if (total < 1e6) return `${sign}${Math.floor(total / 1e3)}${fraction(total % 1e3, 3)}µs`;
  if (total < 1e9) return `${sign}${Math.floor(total / 1e6)}${fraction(total % 1e6, 6)}ms`;
  const hours = Math.floor(total / 3.6e12);
  const minutes = Math.floor((total % 3.6e12) / 6e10);
  const seconds = `${Math.floor((total % 6e10) / 1e9)}${fraction(total % 1e9, 9)}s`;
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}

const units: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 6e10,
  h: 3.6e12,
};

/** Nanoseconds, or undefined when the text is not a Go duration. */
export function parseGoDuration(text: string): number | undefined {
  const match = /^([-+]?)(.*)$/.exec(text)!;
  const body = match[2]!;
  if (body === '0') return 0;
  if (body === '') return undefined;
  let total = 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let at = 0;
  while (at < body.length) {
    part.lastIndex = at;
    const found = part.exec(body);
    if (found === null) return undefined;
    total += Number(found[1]) * units[found[2]!]!;
    at = part.lastIndex;
  }
  return Math.round(match[1] === '-' ? -total : total);
}
