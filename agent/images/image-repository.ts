/**
 * The repository an image reference pulls from, in the fully qualified form credentials are
 * matched against: tag and digest dropped, Docker Hub names completed ('busybox' ->
 * 'docker.io/library/busybox', 'me/app:1' -> 'docker.io/me/app'), a registry host kept as
 * written ('10.0.0.1:5000/team/app:v2' -> '10.0.0.1:5000/team/app').
 *
 * The first path component names a registry when it has a '.' or a ':' or is 'localhost' (the
 * Docker reference grammar's rule); otherwise the name lives on Docker Hub.
 */

const dockerHubDomain = 'docker.io';

export function imageRepository(image: string): string {
  let name = image.trim();
  const at = name.indexOf('@');
  if (at !== -1) name = name.slice(0, at);
  const lastSlash = name.lastIndexOf('/');
  const colon = name.indexOf(':', lastSlash + 1);
  if (colon !== -1) name = name.slice(0, colon);
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') return name;
  return `${dockerHubDomain}/${slash === -1 ? `library/${name}` : name}`;
}
