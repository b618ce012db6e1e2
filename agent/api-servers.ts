/**
 * An agent with several API servers (`bosun agent --server a,b,c`): its clients talk to a loopback
 * balancer (kube/server-balancer.ts) instead of one server, and the balancer's list grows with the
 * servers the cluster advertises in the `kubernetes` EndpointSlice (default namespace), as the k3s
 * agent learns them, so that an agent told of one server still fails over to the others.
 */
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { ClientConfig, KubeClient } from '../kube/client.ts';
import { apiListWatch, Informer } from '../kube/informer.ts';
import { refs } from '../kube/resource-ref.ts';
import { ServerBalancer } from '../kube/server-balancer.ts';
import type { KubeObject } from '../kube/types.ts';

const kubernetesSlice = 'kubernetes';

interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean } }[];
  ports?: { name?: string; port?: number }[];
}

/**
 * https:// URLs of the ready endpoints of the slice the servers themselves write: the one named
 * `kubernetes`. Any other slice labelled for the Service is someone else's word (a user who may
 * write EndpointSlices in default), and is not a server this node should send its credentials to.
 */
export function advertisedServers(slices: readonly EndpointSlice[]): string[] {
  const urls: string[] = [];
  for (const slice of slices) {
    if (slice.metadata.name !== kubernetesSlice) continue;
    if (slice.addressType !== undefined && slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const port = (slice.ports ?? []).find((p) => p.name === 'https' || p.name === undefined)?.port;
    if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses ?? []) {
        // the server validates slice addresses; a URL is built only from an IP of the slice's family
        if (typeof address !== 'string' || isIP(address) !== (slice.addressType === 'IPv6' ? 6 : 4)) continue;
        const host = slice.addressType === 'IPv6' ? `[${address}]` : address;
        urls.push(`https://${host}:${port}`);
      }
    }
  }
  return urls;
}

export interface BalancedApi {
  /** The client configuration that goes through the balancer. */
  readonly client: ClientConfig;
  readonly balancer: ServerBalancer;
  /** Follows the `kubernetes` EndpointSlice through `client` and merges its servers in; runs until close(). */
  learn(client: KubeClient): Promise<void>;
  close(): void;
}

export async function balanceApiServers(
  client: ClientConfig,
  configured: readonly string[],
  log: Logger,
): Promise<BalancedApi> {
  // the kubeconfig's own server first, then the ones named on the command line
  const servers = [...new Set([client.server, ...configured])];
  const balancer = new ServerBalancer({
    servers,
    ca: client.ca,
    onSwitch: (from, to) => log.warn({ from, to }, 'API server switched'),
  });
  const url = await balancer.start();
  log.info({ servers, via: url }, 'API servers balanced on loopback');
  let slices: Informer<EndpointSlice> | undefined;
  return {
    client: { ...client, server: url },
    balancer,
    learn: (through) => {
      const informer = new Informer<EndpointSlice>(
        apiListWatch(through, refs.endpointslices, {
          namespace: 'default',
          fieldSelector: `metadata.name=${kubernetesSlice}`,
        }),
      );
      slices = informer;
      const merge = () => balancer.setServers([...new Set([...servers, ...advertisedServers(informer.list())])]);
      informer.addHandlers({ onAdd: merge, onUpdate: merge, onDelete: merge });
      return informer.run();
    },
    close: () => {
      slices?.stop();
      balancer.close();
    },
  };
}
