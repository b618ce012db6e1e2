import { readFileSync } from 'node:fs';

/** bosun's own version, read from package.json once. */
export const bosunVersion: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function versionLine(): string {
  return `bosun ${bosunVersion} (node ${process.version}, ${process.platform}/${process.arch})`;
}
