/**
 * The manifest files in --pod-manifest-path, as the kubelet reads them: every regular file whose
 * name does not start with a dot, one pod each; a folder that does not exist (yet) holds none.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const maxManifestBytes = 1024 * 1024;

interface ManifestFile {
  path: string;
  text?: string;
  /** Why the file could not be read. */
  error?: string;
}

export function readManifestFolder(dir: string): ManifestFile[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files: ManifestFile[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    try {
      const stat = statSync(path);
      if (!stat.isFile()) continue;
      if (stat.size > maxManifestBytes) {
        files.push({ path, error: `larger than ${maxManifestBytes} bytes` });
        continue;
      }
      files.push({ path, text: readFileSync(path, 'utf8') });
    } catch (err) {
      files.push({ path, error: (err as Error).message });
    }
  }
  return files;
}
