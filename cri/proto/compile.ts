/**
 * Turns runtime_v1.proto into runtime_v1.json, the protobufjs descriptor the client loads.
 * Parsing the .proto text costs tens of milliseconds on every start; the JSON costs a few.
 *   node cri/proto/compile.ts          rewrite runtime_v1.json
 *   node cri/proto/compile.ts --check  exit 1 when runtime_v1.json is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import protobuf from 'protobufjs';

const protoPath = new URL('./runtime_v1.proto', import.meta.url);
const jsonPath = new URL('./runtime_v1.json', import.meta.url);

/** The descriptor text that runtime_v1.json must hold for the current .proto. */
export function compileDescriptor(): string {
  const parsed = protobuf.parse(readFileSync(protoPath, 'utf8'), { keepCase: false });
  return `${JSON.stringify(parsed.root.toJSON())}\n`;
}

if (import.meta.main) {
  const wanted = compileDescriptor();
  if (process.argv.includes('--check')) {
    const current = readFileSync(jsonPath, 'utf8');
    if (current !== wanted) {
      process.stderr.write('cri/proto/runtime_v1.json is stale: run node cri/proto/compile.ts\n');
      process.exitCode = 1;
    }
  } else {
    writeFileSync(jsonPath, wanted);
  }
}
