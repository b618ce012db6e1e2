/**
 * How the API writes time. metav1.Time is RFC 3339 to the second ("2026-12-07T05:10:00Z");
 * metav1.MicroTime carries six fraction digits (leases, events.k8s.io, audit). Clients compare these
 * strings and kubectl parses them, so every writer in the tree uses these two functions.
 */

/** metav1.Time: RFC 3339 in UTC, fraction dropped (not rounded, as Go's time.Truncate does). */
export function apiTime(at: number | Date): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** metav1.MicroTime: RFC 3339 in UTC with six fraction digits; a fractional millisecond keeps its microseconds. */
export function microTime(epochMs: number): string {
  const whole = Math.floor(epochMs);
  const micros = Math.floor((epochMs - whole) * 1000);
  const iso = new Date(whole).toISOString(); // 2026-12-07T05:10:00.123Z
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}
