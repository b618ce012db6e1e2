/**
 * Turns the .proto files beside this script into kubernetes.json, the protobufjs descriptor the
 * server loads (parsing ~3,000 lines of .proto text at every start would cost far more).
 *   node controlplane/api/protobuf/schema/compile.ts          rewrite kubernetes.json
 *   node controlplane/api/protobuf/schema/compile.ts --check  exit 1 when kubernetes.json is stale
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import protobuf from 'protobufjs';

const folder = new URL('./', import.meta.url);
const jsonPath = new URL('./kubernetes.json', import.meta.url);

/** The descriptor text that kubernetes.json must hold for the current .proto files. */
export function compileDescriptor(): string {
  const root = new protobuf.Root();
  for (const file of readdirSync(folder)
    .filter((name) => name.endsWith('.proto'))
    .sort()) {
    protobuf.parse(readFileSync(new URL(file, folder), 'utf8'), root, { keepCase: true });
  }
  root.resolveAll();
  return `${JSON.stringify(root.toJSON())}\n`;
}

if (import.meta.main) {
  const wanted = compileDescriptor();
  if (process.argv.includes('--check')) {
    if (readFileSync(jsonPath, 'utf8') !== wanted) {
      process.stderr.write(
        'controlplane/api/protobuf/schema/kubernetes.json is stale: run node controlplane/api/protobuf/schema/compile.ts\n',
      );
      process.exitCode = 1;
    }
  } else {
    writeFileSync(jsonPath, wanted);
  }
}
