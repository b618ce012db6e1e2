/**
 * The node authorizer: an agent authenticated as `system:node:<name>` (group system:nodes) may read
 * what every node needs (nodes, pods, services, endpoints), write only its own Node, its own Lease
 * and the status (or eviction) of pods bound to it, read only the Secrets and ConfigMaps those pods use, and
 * request tokens only for the service accounts those pods run as. Its ingress proxy reads Ingresses,
 * IngressClasses and the Secrets that Ingresses name for TLS. For storage it reads claims,
 * volumes and classes, creates local-path volumes (NodeRestriction: only its own) and changes or
 * deletes only the local-path volumes that live on it.
 * Everything else falls through to RBAC.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { Attributes, Authorizer, Decision } from './types.ts';
import { localPathNodeOf, type PersistentVolume } from '../../kube/storagev1.ts';

interface NodeGraph {
  /** Pods whose spec.nodeName is `node`. */
  /**
   * Pods bound to the node; may come from a cache a moment behind the datastore unless `fresh`.
   * A check that finds no matching pod asks again with `fresh`, so a pod bound a moment ago is seen.
   */
  podsOnNode(node: string, fresh?: boolean): Promise<readonly KubeObject[]>;
  /** The pod namespace/name, if it exists. */
  pod(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** The PersistentVolume `name`, if it exists (absent: nodes write no volumes). */
  persistentVolume?(name: string): Promise<KubeObject | undefined>;
  /** The Ingresses of a namespace (absent: nodes read no TLS secrets for their ingress proxy). */
  ingresses?(namespace: string): Promise<readonly KubeObject[]>;
}

const readVerbs = new Set(['get', 'list', 'watch']);
const writeVerbs = new Set(['create', 'update', 'patch']);

function nodeName(attributes: Attributes): string | undefined {
  const { user } = attributes;
  if (!user.groups.includes('system:nodes') || !user.name.startsWith('system:node:')) return undefined;
  return user.name.slice('system:node:'.length);
}

type Any = Record<string, any>;

/** Names of Secrets or ConfigMaps a pod refers to (volumes, env, envFrom, image pull secrets). */
export function referencedNames(pod: KubeObject, kind: 'secrets' | 'configmaps'): Set<string> {
  const names = new Set<string>();
  const spec = (pod.spec ?? {}) as Any;
  for (const volume of (spec.volumes ?? []) as Any[]) {
    if (kind === 'secrets' && volume.secret?.secretName) names.add(volume.secret.secretName);
    if (kind === 'configmaps' && volume.configMap?.name) names.add(volume.configMap.name);
    for (const source of (volume.projected?.sources ?? []) as Any[]) {
      if (kind === 'secrets' && source.secret?.name) names.add(source.secret.name);
      if (kind === 'configmaps' && source.configMap?.name) names.add(source.configMap.name);
    }
  }
  if (kind === 'secrets') for (const s of (spec.imagePullSecrets ?? []) as Any[]) if (s.name) names.add(s.name);
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])] as Any[]) {
    for (const e of (c.env ?? []) as Any[]) {
      const ref = kind === 'secrets' ? e.valueFrom?.secretKeyRef : e.valueFrom?.configMapKeyRef;
      if (ref?.name) names.add(ref.name);
    }
    for (const e of (c.envFrom ?? []) as Any[]) {
      const ref = kind === 'secrets' ? e.secretRef : e.configMapRef;
      if (ref?.name) names.add(ref.name);
    }
  }
  return names;
}

export class NodeAuthorizer implements Authorizer {
  readonly #graph: NodeGraph;
  constructor(graph: NodeGraph) {
    this.#graph = graph;
  }

  async authorize(attributes: Attributes): Promise<Decision> {
    const node = nodeName(attributes);
    const r = attributes.resource;
    const no: Decision = { allowed: false, reason: '' };
    if (node === undefined || r === undefined) return no;
    const yes = (why: string): Decision => ({ allowed: true, reason: `node ${node}: ${why}` });
    const { verb } = attributes;
    const key = `${r.group}/${r.resource}${r.subresource ? `/${r.subresource}` : ''}`;
    switch (key) {
      case '/nodes':
      case '/nodes/status':
        if (readVerbs.has(verb) && r.subresource === '') return yes('reads nodes');
        if (verb === 'create' && r.subresource === '') return yes('registers itself');
        if ((writeVerbs.has(verb) || verb === 'get') && r.name === node) return yes('writes its own Node');
        return no;
      case '/pods':
        if (readVerbs.has(verb)) return yes('reads pods');
        // upstream's system:node rules: mirror pods of its static pods; NodeRestriction admits only
        // mirror pods bound to and owned by this node, referring to nothing else
        if (verb === 'create') return yes('creates mirror pods');
        if (verb === 'delete' && (await this.#boundHere(r.namespace, r.name, node)))
          return yes('confirms deletion of its pod');
        return no;
      case '/pods/eviction':
        // as upstream's system:node rules with NodeRestriction: evictions only of pods bound to it
        if (verb === 'create' && (await this.#boundHere(r.namespace, r.name, node))) return yes('evicts its own pod');
        return no;
      case '/pods/status':
        if ((writeVerbs.has(verb) || verb === 'get') && (await this.#boundHere(r.namespace, r.name, node)))
          return yes('reports status of its pod');
        return no;
      case '/persistentvolumeclaims':
      case 'storage.k8s.io/storageclasses':
        // the claims its pods mount and those its local-path provisioner serves
        return readVerbs.has(verb) ? yes(`reads ${r.resource}`) : no;
      case '/persistentvolumes': {
        if (readVerbs.has(verb)) return yes('reads persistentvolumes');
        // its provisioner makes local-path volumes (NodeRestriction checks each is its own) ...
        if (verb === 'create') return yes('provisions a local-path volume');
        // ... and changes or deletes only those that live on it
        if ((writeVerbs.has(verb) || verb === 'delete') && r.name !== '') {
          const pv = await this.#graph.persistentVolume?.(r.name);
          if (pv !== undefined && localPathNodeOf(pv as unknown as PersistentVolume) === node)
            return yes('reclaims its own local-path volume');
        }
        return no;
      }
      case '/services':
      case '/endpoints':
      case 'discovery.k8s.io/endpointslices':
      case '/namespaces':
      // the agent enforces NetworkPolicy for its pods (as k3s' agent embeds its policy controller)
      case 'networking.k8s.io/networkpolicies':
      // and its ingress proxy serves Ingresses (as k3s' Traefik reads them cluster-wide)
      case 'networking.k8s.io/ingresses':
      case 'networking.k8s.io/ingressclasses':
        return readVerbs.has(verb) ? yes(`reads ${r.resource}`) : no;
      case 'coordination.k8s.io/leases':
        if (r.namespace !== 'kube-node-lease') return no;
        if (
          verb === 'create' ||
          ((readVerbs.has(verb) || writeVerbs.has(verb) || verb === 'delete') && r.name === node)
        )
          return yes('keeps its own lease');
        return no;
      case '/events':
      case 'events.k8s.io/events':
        return writeVerbs.has(verb) ? yes('records events') : no;
      case 'authorization.k8s.io/subjectaccessreviews':
      case 'authentication.k8s.io/tokenreviews':
        // upstream's system:node role: the kubelet port asks who may use it
        return verb === 'create' ? yes('checks who may use its kubelet port') : no;
      case 'certificates.k8s.io/certificatesigningrequests':
        return verb === 'create' || readVerbs.has(verb) ? yes('requests certificates') : no;
      case '/serviceaccounts/token': {
        // a bound token for a pod of this node, for the service account that pod runs as
        if (verb !== 'create' || r.name === '') return no;
        const runsAs = (pod: KubeObject) =>
          pod.metadata.namespace === r.namespace &&
          ((pod.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName ?? 'default') === r.name;
        return (await this.#anyPodOn(node, runsAs)) ? yes("requests a token for its pod's service account") : no;
      }
      case '/secrets':
      case '/configmaps': {
        if (verb !== 'get' || r.name === '') return no;
        const kind = r.resource as 'secrets' | 'configmaps';
        const uses = (pod: KubeObject) =>
          pod.metadata.namespace === r.namespace && referencedNames(pod, kind).has(r.name);
        if (await this.#anyPodOn(node, uses)) return yes(`reads a ${kind.slice(0, -1)} its pod uses`);
        if (kind === 'secrets' && (await this.#namedByIngressTls(r.namespace, r.name)))
          return yes('reads the certificate of an Ingress its ingress proxy terminates');
        return no;
      }
      default:
        return no;
    }
  }

  /** Whether a pod on the node passes `test`: the (possibly cached) pods first, then a fresh read before saying no. */
  async #anyPodOn(node: string, test: (pod: KubeObject) => boolean): Promise<boolean> {
    if ((await this.#graph.podsOnNode(node)).some(test)) return true;
    return (await this.#graph.podsOnNode(node, true)).some(test);
  }

  async #namedByIngressTls(namespace: string, name: string): Promise<boolean> {
    const ingresses = (await this.#graph.ingresses?.(namespace)) ?? [];
    const tlsOf = (ingress: KubeObject): unknown[] => {
      const tls = (ingress.spec as { tls?: unknown } | undefined)?.tls;
      return Array.isArray(tls) ? tls : [];
    };
    return ingresses.some((i) => tlsOf(i).some((t) => (t as { secretName?: unknown } | null)?.secretName === name));
  }

  async #boundHere(namespace: string, name: string, node: string): Promise<boolean> {
    if (!name) return false;
    const pod = await this.#graph.pod(namespace, name);
    return (pod?.spec as { nodeName?: string } | undefined)?.nodeName === node;
  }
}
