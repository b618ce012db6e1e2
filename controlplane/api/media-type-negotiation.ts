/**
 * Choosing a response's media type from an `Accept` header (RFC 9110 §12.5.1): each offered type
 * takes the q-value of the most specific range that matches it (`type/subtype` over `type/*` over
 * `*\/*`); the highest q wins, a tie goes to the more specific match, then to the server's order.
 * No header means the first offer; nothing acceptable means undefined (the caller answers 406).
 */
interface Range {
  readonly type: string;
  readonly subtype: string;
  readonly q: number;
}

function parseRanges(accept: string): Range[] {
  const ranges: Range[] = [];
  for (const part of accept.split(',')) {
    const [mediaType = '', ...params] = part.split(';').map((s) => s.trim());
    const [type, subtype] = mediaType.toLowerCase().split('/');
    if (!type || !subtype) continue;
    let q = 1;
    for (const param of params) {
      const [name, value] = param.split('=').map((s) => s.trim());
      if (name?.toLowerCase() === 'q' && value !== undefined)
        q = Number.isFinite(Number(value)) ? Math.min(1, Math.max(0, Number(value))) : 0;
    }
    ranges.push({ type, subtype, q });
  }
  return ranges;
}

function specificity(range: Range, type: string, subtype: string): number {
  if (range.type === type && range.subtype === subtype) return 3;
  if (range.type === type && range.subtype === '*') return 2;
  if (range.type === '*' && range.subtype === '*') return 1;
  return 0;
}

export function negotiateMediaType<T extends string>(accept: string | undefined, offers: readonly T[]): T | undefined {
  if (accept === undefined || accept.trim() === '') return offers[0];
  const ranges = parseRanges(accept);
  let best: { offer: T; q: number; specificity: number } | undefined;
  for (const offer of offers) {
    const [type = '', subtype = ''] = offer.toLowerCase().split('/');
    let match: { q: number; specificity: number } | undefined;
    for (const range of ranges) {
      const s = specificity(range, type, subtype);
      if (s > 0 && (match === undefined || s > match.specificity)) match = { q: range.q, specificity: s };
    }
    if (match === undefined || match.q === 0) continue;
    if (best === undefined || match.q > best.q || (match.q === best.q && match.specificity > best.specificity))
      best = { offer, ...match };
  }
  return best?.offer;
}
