/**
 * The reading half of the Prometheus text exposition format (prometheus-text.ts writes it): each
 * sample line as its name, labels, value and optional timestamp. Comments (HELP, TYPE) and blank
 * lines are skipped; a line that is not a sample is an error, so a garbled answer is refused as a
 * whole rather than half read.
 */

interface PrometheusSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Milliseconds since the epoch, when the line carries one. */
  readonly timestampMs?: number;
}

class PrometheusTextError extends Error {}

const namePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseNumber(text: string, line: number): number {
  switch (text) {
    case 'NaN':
      return Number.NaN;
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
  }
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new PrometheusTextError(`line ${line}: "${text}" is not a number`);
  return value;
}

/** `{a="1",b="x\"y"}` from `text` at `start` (just after the name); returns the labels and where they end. */
function parseLabels(text: string, start: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  const fail = (why: string): never => {
    throw new PrometheusTextError(`line ${line}: ${why}`);
  };
  while (true) {
    while (text[i] === ' ' || text[i] === ',') i++;
    if (text[i] === '}') return { labels, end: i + 1 };
    const name = labelNamePattern.exec(text.slice(i))?.[0] ?? fail('a label name was expected');
    i += name.length;
    if (text[i] !== '=' || text[i + 1] !== '"') fail(`label ${name} has no quoted value`);
    i += 2;
    let value = '';
    while (text[i] !== '"') {
      if (i >= text.length) fail(`the value of label ${name} is not closed`);
      if (text[i] === '\\') {
        const next = text[i + 1];
        value += next === 'n' ? '\n' : (next ?? '');
        i += 2;
      } else value += text[i++];
    }
    labels[name] = value;
    i++;
  }
}

/** Every sample of a text exposition, in order. */
export function readPrometheusText(text: string): PrometheusSample[] {
  const samples: PrometheusSample[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const name = namePattern.exec(line)?.[0];
    if (name === undefined) throw new PrometheusTextError(`line ${n + 1}: a metric name was expected`);
    let labels: Record<string, string> = {};
    let rest = line.slice(name.length);
    if (rest.startsWith('{')) {
      const parsed = parseLabels(line, name.length, n + 1);
      labels = parsed.labels;
      rest = line.slice(parsed.end);
    }
    const fields = rest.trim().split(/\s+/);
    if (fields.length < 1 || fields.length > 2 || fields[0] === '')
      throw new PrometheusTextError(`line ${n + 1}: a value and an optional timestamp were expected`);
    const value = parseNumber(fields[0]!, n + 1);
    const timestampMs = fields[1] === undefined ? undefined : parseNumber(fields[1], n + 1);
    samples.push({ name, labels, value, ...(timestampMs !== undefined ? { timestampMs } : {}) });
  }
  return samples;
}
