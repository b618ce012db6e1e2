/**
 * How the resource metrics API writes what it measured, byte for byte as metrics-server does (it
 * hands Go's resource.Quantity and metav1.Duration to the encoder): CPU in cores with the largest
 * decimal suffix that keeps every nanocore ("250m", "1234567n"), memory in bytes with the largest
 * binary suffix that divides it exactly ("1028Ki", "1234567"), and the window as Go prints a
 * time.Duration ("15.004s", "1m0.5s", "500ms").
 */
import { formatGoDuration } from '../../kube/go-duration.ts';

const decimalSuffixes = ['n', 'u', 'm', '', 'k', 'M', 'G', 'T', 'P', 'E'];

/** A CPU rate in whole nanocores as a canonical decimal Quantity. */
export function formatNanoCores(nanoCores: number): string {
  let value = Math.max(0, Math.floor(nanoCores));
  if (value === 0) return '0';
  let step = 0;
  while (value % 1000 === 0 && step < decimalSuffixes.length - 1) {
    value /= 1000;
    step++;
  }
  return `${value}${decimalSuffixes[step]}`;
}

const binarySuffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/** A byte count as a canonical binary Quantity; below 1024 (or not a whole multiple of it) it stays plain. */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, Math.floor(bytes));
  if (value < 1024) return String(value);
  let step = 0;
  while (value % 1024 === 0 && step < binarySuffixes.length - 1) {
    value /= 1024;
    step++;
  }
  return `${value}${binarySuffixes[step]}`;
}

/** A duration in milliseconds as Go's time.Duration.String() writes it. */
export function goDuration(ms: number): string {
  return formatGoDuration(Math.round(ms) * 1e6);
}
