/**
 * The ServiceAccount admission plugin's token mount: a new pod whose service account may mount
 * its token gets the projected volume `kube-api-access-<5 chars>` (a bound token, the cluster CA
 * from the `kube-root-ca.crt` ConfigMap, the namespace) mounted read-only at
 * /var/run/secrets/kubernetes.io/serviceaccount in every container that has nothing there yet.
 *
 * Unlike upstream, a pod whose service account does not exist (yet) is admitted without the
 * volume instead of refused: the bundled server may run without the controller that creates
 * `default` accounts, and a pod that cannot get a token would never start anyway.
 */
import type { KubeObject } from '../../kube/types.ts';

type Any = Record<string, any>;

export const serviceAccountMountPath = '/var/run/secrets/kubernetes.io/serviceaccount';
const tokenVolumePrefix = 'kube-api-access-';
/** Upstream's default lifetime for the token volume: 1 h plus 7 s, so that it is recognisable. */
const tokenVolumeSeconds = 3607;
/** The alphabet of apimachinery's rand.String (no vowels, no confusable digits). */
const alphabet = 'bcdfghjklmnpqrstvwxz2456789';

function randomSuffix(random: () => number = Math.random, length = 5): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(random() * alphabet.length)];
  return out;
}

function shouldAutomount(pod: Any, serviceAccount: KubeObject | undefined): boolean {
  if (serviceAccount === undefined) return false;
  if (typeof pod.spec?.automountServiceAccountToken === 'boolean') return pod.spec.automountServiceAccountToken;
  const fromAccount = (serviceAccount as Any).automountServiceAccountToken;
  return typeof fromAccount === 'boolean' ? fromAccount : true;
}

function tokenVolume(name: string): Any {
  return {
    name,
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: tokenVolumeSeconds, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
      defaultMode: 0o644,
    },
  };
}

/** Adds the token volume and its mounts to `pod` (in place) when it should have them. */
export function mountServiceAccountToken(
  pod: Any,
  serviceAccount: KubeObject | undefined,
  random: () => number = Math.random,
): void {
  // mirror pods (static pods) never get tokens (upstream)
  if (pod.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined) return;
  if (!shouldAutomount(pod, serviceAccount)) return;
  const spec = pod.spec as Any;
  const containers = [...((spec.initContainers ?? []) as Any[]), ...((spec.containers ?? []) as Any[])];
  const needing = containers.filter(
    (c) => !((c.volumeMounts ?? []) as Any[]).some((m) => m.mountPath === serviceAccountMountPath),
  );
  if (needing.length === 0) return;
  const taken = new Set(((spec.volumes ?? []) as Any[]).map((v) => v.name));
  let name = `${tokenVolumePrefix}${randomSuffix(random)}`;
  while (taken.has(name)) name = `${tokenVolumePrefix}${randomSuffix(random)}`;
  for (const c of needing)
    c.volumeMounts = [
      ...((c.volumeMounts ?? []) as Any[]),
      { name, readOnly: true, mountPath: serviceAccountMountPath },
    ];
  spec.volumes = [...((spec.volumes ?? []) as Any[]), tokenVolume(name)];
}

/**
 * A new pod that names no image pull secrets gets its service account's (the ServiceAccount
 * admission plugin's rule), so that `kubectl patch serviceaccount default -p
 * '{"imagePullSecrets":[{"name":"regcred"}]}'` makes every later pod of the namespace pull with
 * them. A pod with its own list keeps it unchanged.
 */
export function inheritImagePullSecrets(pod: Any, serviceAccount: KubeObject | undefined): void {
  if (serviceAccount === undefined) return;
  if (pod.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined) return;
  const spec = pod.spec as Any;
  if (((spec.imagePullSecrets ?? []) as Any[]).length > 0) return;
  const fromAccount = ((serviceAccount as Any).imagePullSecrets ?? []) as Any[];
  if (fromAccount.length === 0) return;
  spec.imagePullSecrets = fromAccount.map((ref) => ({ name: typeof ref?.name === 'string' ? ref.name : '' }));
}
