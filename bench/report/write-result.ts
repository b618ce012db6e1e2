/** A suite's result: bench/results/<suite>(-quick).json, and one JSON line as the run's last output. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function writeResult(suite: string, quick: boolean, result: object): void {
  const resultsDir = join(import.meta.dirname, '..', 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, quick ? `${suite}-quick.json` : `${suite}.json`),
    `${JSON.stringify(result, null, 2)}\n`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
