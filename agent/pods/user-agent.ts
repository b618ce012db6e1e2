import { readFileSync } from 'node:fs';

/** bosun's version, for the User-Agent of probes and hooks. */
const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Probes identify themselves as the kubelet's do (apps match on the prefix), plus who sent them. */
export const bosunUserAgent = `kube-probe/bosun-${version}`;
