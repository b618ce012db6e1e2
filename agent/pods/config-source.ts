/**
 * The ConfigMaps, Secrets and service-account tokens that pods on this node use, fetched with the
 * node's own identity. The node authorizer lets a node GET (not list or watch) only the objects
 * its pods refer to, so this is the kubelet's TTL strategy: a GET whose answer (also "not found")
 * is reused for `ttlMs`, and for ever once the object is immutable.
 */
import type { ConfigMap, Secret } from '../../kube/corev1.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isApiError } from '../../kube/errors.ts';
import { refs, type ResourceRef } from '../../kube/resource-ref.ts';
import type { Clock } from '../../kube/clock.ts';
import { ServiceAccountTokens, type TokenRequestSpec } from './service-account-tokens.ts';

/** Keys to values; secret values decoded, configMap binaryData included. undefined: no such object. */
export type ConfigData = Record<string, Buffer>;

export interface ConfigLookup {
  configMap(namespace: string, name: string): Promise<ConfigData | undefined>;
  secret(namespace: string, name: string): Promise<ConfigData | undefined>;
  /** A Secret with its type, for image pull secrets (only some types carry registry credentials). */
  typedSecret(namespace: string, name: string): Promise<TypedSecret | undefined>;
  serviceAccountToken(spec: TokenRequestSpec): Promise<string>;
  /** The pod is gone: its tokens need not be kept. */
  forgetPod?(uid: string): void;
}

interface TypedSecret {
  type: string | undefined;
  data: ConfigData;
}

/** For runs without an API server: nothing exists. */
export const noConfigLookup: ConfigLookup = {
  configMap: async () => undefined,
  secret: async () => undefined,
  typedSecret: async () => undefined,
  serviceAccountToken: async () => {
    throw new Error('this agent has no API access to request service account tokens');
  },
};

function configMapData(cm: ConfigMap): ConfigData {
  const data: ConfigData = {};
  for (const [key, value] of Object.entries(cm.data ?? {})) data[key] = Buffer.from(value, 'utf8');
  for (const [key, value] of Object.entries(cm.binaryData ?? {})) data[key] = Buffer.from(value, 'base64');
  return data;
}

function secretData(secret: Secret): ConfigData {
  const data: ConfigData = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, 'base64');
  return data;
}

/** The TokenRequest subresource, addressed through the collection path the client already builds. */
function tokenRequestRef(serviceAccount: string): ResourceRef {
  return { ...refs.serviceaccounts, resource: `serviceaccounts/${encodeURIComponent(serviceAccount)}/token` };
}

/** Above this many cached answers, the ones no pod asked for in a while are dropped. */
const maxCachedObjects = 1_000;
const idleDropMs = 10 * 60_000;

interface Fetched {
  data: ConfigData;
  /** A Secret's type; undefined for ConfigMaps. */
  type?: string | undefined;
}

interface Cached {
  fetched: Fetched | undefined;
  at: number;
  immutable: boolean;
}

export class ApiConfigSource implements ConfigLookup {
  readonly #client: KubeClient;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, Cached>();
  readonly #inFlight = new Map<string, Promise<Fetched | undefined>>();
  readonly #tokens: ServiceAccountTokens;

  constructor(client: KubeClient, clock: Clock, ttlMs = 4_000) {
    this.#client = client;
    this.#clock = clock;
    this.#ttlMs = ttlMs;
    this.#tokens = new ServiceAccountTokens(async (spec) => {
      const reply = await this.#client.create<any>(tokenRequestRef(spec.serviceAccount), {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        metadata: { namespace: spec.namespace },
        spec: {
          audiences: spec.audience === '' ? [] : [spec.audience],
          expirationSeconds: spec.expirationSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: spec.pod.name, uid: spec.pod.uid },
        },
      });
      const token = reply?.status?.token;
      const expiresAt = Date.parse(reply?.status?.expirationTimestamp ?? '');
      if (typeof token !== 'string' || Number.isNaN(expiresAt))
        throw new Error(
          `the API server's TokenRequest reply for ${spec.namespace}/${spec.serviceAccount} has no token`,
        );
      return { token, expiresAt };
    }, clock);
  }

  async configMap(namespace: string, name: string): Promise<ConfigData | undefined> {
    return (await this.#get(refs.configmaps, namespace, name, (o) => ({ data: configMapData(o as ConfigMap) })))?.data;
  }

  async secret(namespace: string, name: string): Promise<ConfigData | undefined> {
    return (await this.typedSecret(namespace, name))?.data;
  }

  async typedSecret(namespace: string, name: string): Promise<TypedSecret | undefined> {
    const fetched = await this.#get(refs.secrets, namespace, name, (o) => ({
      data: secretData(o as Secret),
      type: (o as Secret).type,
    }));
    return fetched === undefined ? undefined : { data: fetched.data, type: fetched.type };
  }

  serviceAccountToken(spec: TokenRequestSpec): Promise<string> {
    return this.#tokens.get(spec);
  }

  forgetPod(uid: string): void {
    this.#tokens.forgetPod(uid);
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#cache) if (now - entry.at > idleDropMs) this.#cache.delete(key);
  }

  #get(
    ref: ResourceRef,
    namespace: string,
    name: string,
    decode: (o: ConfigMap | Secret) => Fetched,
  ): Promise<Fetched | undefined> {
    const key = `${ref.resource}/${namespace}/${name}`;
    const cached = this.#cache.get(key);
    const now = this.#clock.now();
    if (cached !== undefined && (cached.immutable || now - cached.at < this.#ttlMs))
      return Promise.resolve(cached.fetched);
    if (this.#cache.size > maxCachedObjects) this.#sweep(now);
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    const fetch = (async () => {
      try {
        const object = await this.#client.get<ConfigMap | Secret>(ref, name, namespace);
        const fetched = decode(object);
        this.#cache.set(key, { fetched, at: now, immutable: (object as { immutable?: boolean }).immutable === true });
        return fetched;
      } catch (err) {
        if (!isApiError(err, 'NotFound')) throw err;
        this.#cache.set(key, { fetched: undefined, at: now, immutable: false });
        return undefined;
      }
    })().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, fetch);
    return fetch;
  }
}
