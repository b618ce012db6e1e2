import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, readFileSync, readlinkSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { buildTar } from '../../../agent/oci/tar.ts';
import { buildImageArchive, splitReference } from '../../../agent/oci/image-archive.ts';

function extract(archive: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'bosun-tar-'));
  writeFileSync(join(dir, 'a.tar'), archive);
  execFileSync('tar', ['-xf', 'a.tar', '-C', dir], { cwd: dir });
  return dir;
}

test('tar archives read back with the system tar: files, modes, dirs, symlinks, long paths', (t) => {
  const longPath = `${'d'.repeat(90)}/${'e'.repeat(60)}/file.txt`;
  const archive = buildTar([
    { kind: 'dir', path: 'bin' },
    { kind: 'file', path: 'bin/tool', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
    { kind: 'symlink', path: 'bin/alias', target: 'tool' },
    { kind: 'dir', path: 'tmp', mode: 0o1777 },
    { kind: 'dir', path: `${'d'.repeat(90)}` },
    { kind: 'dir', path: `${'d'.repeat(90)}/${'e'.repeat(60)}` },
    { kind: 'file', path: longPath, data: Buffer.alloc(1000, 7) },
  ]);
  t.is(archive.length % 512, 0);
  const dir = extract(archive);
  try {
    t.is(readFileSync(join(dir, 'bin/tool'), 'utf8'), '#!/bin/sh\necho hi\n');
    t.is(statSync(join(dir, 'bin/tool')).mode & 0o777, 0o755);
    t.is(readlinkSync(join(dir, 'bin/alias')), 'tool');
    t.is(statSync(join(dir, 'tmp')).mode & 0o7777, 0o1777);
    t.deepEqual(readFileSync(join(dir, longPath)), Buffer.alloc(1000, 7));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tar output is deterministic: same entries, same bytes', (t) => {
  const entries = [{ kind: 'file' as const, path: 'x', data: Buffer.from('same') }];
  t.deepEqual(buildTar(entries), buildTar(entries));
});

test('image archive: blobs are named by their sha256 and the index names the image', (t) => {
  const image = buildImageArchive({
    reference: 'localhost/bosun/test:1.0',
    files: [{ kind: 'file', path: 'hello', data: Buffer.from('hello\n') }],
    entrypoint: ['/hello'],
    stopSignal: 'SIGINT',
  });
  const dir = extract(image.archive);
  try {
    const blob = (digest: string) => readFileSync(join(dir, 'blobs/sha256', digest.slice(7)));
    const digestOf = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    t.is(index.manifests[0].digest, image.manifestDigest);
    t.is(index.manifests[0].annotations['io.containerd.image.name'], 'localhost/bosun/test:1.0');
    t.is(index.manifests[0].annotations['org.opencontainers.image.ref.name'], '1.0');
    const manifest = JSON.parse(blob(image.manifestDigest).toString());
    t.is(digestOf(blob(image.manifestDigest)), image.manifestDigest);
    t.is(manifest.config.digest, image.configDigest);
    t.is(digestOf(blob(image.configDigest)), image.configDigest);
    const layerDigest = manifest.layers[0].digest as string;
    t.is(digestOf(blob(layerDigest)), layerDigest);
    const config = JSON.parse(blob(image.configDigest).toString());
    t.deepEqual(config.config.Entrypoint, ['/hello']);
    t.is(config.config.StopSignal, 'SIGINT');
    t.deepEqual(config.rootfs.diff_ids, [layerDigest]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('image references split into name and tag, defaulting to latest', (t) => {
  t.deepEqual(splitReference('localhost/bosun/pause:3.10'), { name: 'localhost/bosun/pause', tag: '3.10' });
  t.deepEqual(splitReference('localhost:5000/app'), { name: 'localhost:5000/app', tag: 'latest' });
});
