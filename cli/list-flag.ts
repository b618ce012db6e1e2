/**
 * List flags in upstream's forms: comma-separated, repeated, or both
 * (`--tls-san a,b --tls-san c` is a, b and c), as pflag's string slices read them in the kubelet,
 * kube-apiserver and kubeadm. Without this, `--ignore-preflight-errors=runtime,ports` was the one
 * check named "runtime,ports" and ignored nothing.
 */
import type { Options } from 'yargs';

/** A list flag's yargs options, typed so that a builder knows the handler gets a list. */
type ListOption = Options & { type: 'string'; describe: string; coerce: typeof listItems };

/** The items of a list flag's value (one string, or one per repetition); blanks dropped. */
export function listItems(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return values
    .flatMap((v) => String(v).split(','))
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * A yargs option for a list flag. Not a yargs array: that one would also swallow the words after
 * it (`--tls-san a b` taking b), which upstream's parsers do not.
 */
export function listOption(describe: string, defaults: readonly string[] = []): ListOption & { default: string[] } {
  return {
    type: 'string',
    default: [...defaults],
    describe: `${describe} (comma-separated, repeatable)`,
    coerce: listItems,
  };
}

/** A list flag that must be given at least once (no default, or yargs would count it as given). */
export function requiredListOption(describe: string): ListOption & { demandOption: true } {
  return {
    type: 'string',
    demandOption: true,
    describe: `${describe} (comma-separated, repeatable)`,
    coerce: listItems,
  };
}
