/**
 * Builds an OCI image layout archive (the tar that `ctr images import` and registries understand)
 * from files on this machine, so nodes can run pods without reaching any registry.
 */
import { createHash } from 'node:crypto';
import { buildTar, type TarEntry } from './tar.ts';

interface ImageSpec {
  /** Full reference, e.g. 'localhost/bosun/pause:3.10'. A bare name would become docker.io/... */
  reference: string;
  /** The root filesystem of the single layer. */
  files: readonly TarEntry[];
  entrypoint?: readonly string[];
  cmd?: readonly string[];
  env?: readonly string[];
  workingDir?: string;
  stopSignal?: string;
  user?: string;
}

export interface ImageArchive {
  reference: string;
  /** sha256:... of the image manifest: what a runtime reports as the repo digest. */
  manifestDigest: string;
  /** sha256:... of the image config: what a runtime reports as the image ID. */
  configDigest: string;
  archive: Buffer;
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function blobPath(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

/** Splits 'host/repo/name:tag' into the name and the tag ('latest' when absent). */
export function splitReference(reference: string): { name: string; tag: string } {
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon > slash) return { name: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { name: reference, tag: 'latest' };
}

export function buildImageArchive(spec: ImageSpec): ImageArchive {
  const layer = buildTar(spec.files);
  const layerDigest = sha256(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {
        ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
        ...(spec.cmd ? { Cmd: spec.cmd } : {}),
        Env: spec.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
        ...(spec.stopSignal ? { StopSignal: spec.stopSignal } : {}),
        ...(spec.user ? { User: spec.user } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [layerDigest] },
      history: [{ created_by: 'bosun image builder' }],
    }),
  );
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    }),
  );
  const manifestDigest = sha256(manifest);
  const { tag } = splitReference(spec.reference);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: manifest.length,
          platform: { architecture: 'amd64', os: 'linux' },
          annotations: {
            'io.containerd.image.name': spec.reference,
            'org.opencontainers.image.ref.name': tag,
          },
        },
      ],
    }),
  );
  const archive = buildTar([
    { kind: 'file', path: 'oci-layout', data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { kind: 'file', path: 'index.json', data: index },
    { kind: 'dir', path: 'blobs' },
    { kind: 'dir', path: 'blobs/sha256' },
    { kind: 'file', path: blobPath(configDigest), data: config },
    { kind: 'file', path: blobPath(layerDigest), data: layer },
    { kind: 'file', path: blobPath(manifestDigest), data: manifest },
  ]);
  return { reference: spec.reference, manifestDigest, configDigest, archive };
}
