/**
 * Loaded into a bosun process with `--require` (through NODE_OPTIONS; the single executable runs
 * preloads given so, not `--import` ones): when the process exits, it
 * writes to $BOSUN_MODULE_LOG the files Node's module loader loaded (the source tree's modules and
 * packages; none for the single executable, whose code is one script) and the Node built-in
 * modules it loaded (process.moduleLoadList), so a test can see what a command pulled in.
 */
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const files: string[] = [];
registerHooks({
  load(url, context, nextLoad) {
    if (url.startsWith('file:')) files.push(fileURLToPath(url));
    return nextLoad(url, context);
  },
});

process.on('exit', () => {
  const target = process.env.BOSUN_MODULE_LOG;
  if (target === undefined) return;
  // moduleLoadList is Node's own record of the built-ins it loaded ("NativeModule http", ...)
  const loaded = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
  const builtins = loaded.filter((line) => line.startsWith('NativeModule ')).map((line) => line.slice(13));
  writeFileSync(target, JSON.stringify({ files, builtins }));
});
