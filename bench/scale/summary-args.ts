/** The command line of the summary scripts: one file to read and `--top N` rows to print (30 unless told). */
import { parseArgs } from 'node:util';

export function fileAndTop(usage: string): { file: string; top: number } {
  const { values, positionals } = parseArgs({
    options: { top: { type: 'string', default: '30' } },
    allowPositionals: true,
  });
  const file = positionals[0];
  if (file === undefined) {
    process.stderr.write(`usage: ${usage}\n`);
    process.exit(2);
  }
  return { file, top: Number(values.top) };
}
