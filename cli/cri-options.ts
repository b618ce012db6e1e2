/**
 * The flags of `bosun cri` and of its listing subcommands, as data: yargs builds its parser, help
 * and errors from these records (cli/cri.ts), and the quick path (cli/cri-quick.ts) reads plain
 * command lines with the same records, so the two can never disagree on a name, alias or default.
 */
import type { Options } from 'yargs';

/**
 * One flag as both parsers read it: yargs' own option record, limited to what the quick path knows.
 * A flag without a type takes one of its choices (yargs' help then shows no type for it).
 */
export type CriOption = Options & {
  readonly type?: 'string' | 'boolean' | 'number';
  readonly alias?: string;
  readonly array?: true;
  readonly choices?: readonly string[];
};

export type CriOptions = Readonly<Record<string, CriOption>>;

/** How yargs reads the cri command line: crictl's --no-trunc and --no-pull are flags of their own, not "trunc: false". */
export const criParserConfiguration = { 'boolean-negation': false } as const;

export const criGlobalOptions = {
  'runtime-endpoint': {
    alias: 'r',
    type: 'string',
    describe:
      'CRI endpoint (default: $CONTAINER_RUNTIME_ENDPOINT, the config file, or unix:///run/containerd/containerd.sock)',
  },
  config: {
    alias: 'c',
    type: 'string',
    describe: 'crictl-style config file (default: $CRI_CONFIG_FILE or /etc/crictl.yaml)',
  },
  // Not --timeout as in crictl: in one yargs tree it would collide with stop's --timeout/-t.
  'request-timeout': { type: 'number', describe: 'Seconds to wait for inspection calls (default 10)' },
} as const satisfies CriOptions;

const outputFormats = ['table', 'json', 'yaml'] as const;

export const tableOutputOption = {
  output: { alias: 'o', choices: outputFormats, default: 'table', describe: 'Output format' },
} as const satisfies CriOptions;

export const documentOutputOption = {
  output: { alias: 'o', choices: outputFormats, default: 'json', describe: 'Output format' },
} as const satisfies CriOptions;

export const listFilterOptions = {
  ...tableOutputOption,
  quiet: { alias: 'q', type: 'boolean', default: false, describe: 'Only print full IDs' },
  'no-trunc': { type: 'boolean', default: false, describe: 'Do not cut IDs to 13 characters' },
  id: { type: 'string', describe: 'Filter by ID (or a prefix of it)' },
  name: { type: 'string', describe: 'Filter by name (regular expression)' },
  namespace: { type: 'string', describe: 'Filter by pod namespace (regular expression)' },
  label: {
    type: 'string',
    array: true,
    default: [] as string[],
    describe: 'Filter by label key=value (repeatable)',
  },
  state: { alias: 's', type: 'string', describe: 'Filter by state' },
  latest: { alias: 'l', type: 'boolean', default: false, describe: 'Only the newest one' },
  last: { alias: 'n', type: 'number', default: 0, describe: 'Only the newest N' },
} as const satisfies CriOptions;

export const psOptions = {
  ...listFilterOptions,
  all: { alias: 'a', type: 'boolean', default: false, describe: 'Show all containers, not only running ones' },
  pod: { alias: 'p', type: 'string', describe: 'Only containers of this pod (ID or prefix)' },
  image: { type: 'string', describe: 'Only containers of this image (reference or ID prefix)' },
} as const satisfies CriOptions;

export const imagesOptions = {
  ...tableOutputOption,
  quiet: { alias: 'q', type: 'boolean', default: false, describe: 'Only print image IDs' },
  'no-trunc': { type: 'boolean', default: false, describe: 'Do not cut IDs' },
  digests: { type: 'boolean', default: false, describe: 'Show digests' },
} as const satisfies CriOptions;
