/** Go's time.Duration text, both ways, as metav1.Duration carries it in JSON. */
import test from 'ava';
import { formatGoDuration, parseGoDuration } from '../../kube/go-duration.ts';

const pairs: [number, string][] = [
  [0, '0s'],
  [999, '999ns'],
  [1_500, '1.5µs'],
  [500e6, '500ms'],
  [942_100_000, '942.1ms'],
  [15_004e6, '15.004s'],
  [60_500e6, '1m0.5s'],
  [3_723e9, '1h2m3s'],
  [-2e9, '-2s'],
];

test('written as Duration.String() writes it, read back as time.ParseDuration reads it', (t) => {
  for (const [ns, text] of pairs) {
    t.is(formatGoDuration(ns), text, `${ns} ns`);
    t.is(parseGoDuration(text), ns, text);
  }
  t.is(parseGoDuration('1h30m'), 5_400e9);
  t.is(parseGoDuration('2us'), 2_000);
  t.is(parseGoDuration('.5s'), 500e6);
  for (const bad of ['', '5', '1x', 's', '1s2', '--1s']) t.is(parseGoDuration(bad), undefined, bad);
});
