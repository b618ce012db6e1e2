/**
 * The IPVS backend: every sync is whole (the applier diffs the IPVS table against the kernel's,
 * and the iptables part is small). Needs the kernel's ip_vs, ipvsadm and ipset; the first sync
 * checks and fails with ProxyError(noIpvs) where they are missing.
 */
import { IpvsApplier } from './ipvs-applier.ts';
import { renderIpvs } from './ipvs-renderer.ts';
import { BackendOnIptables, type BackendSyncProgress, type BackendSyncRequest } from './proxy-backend.ts';

export class IpvsProxyBackend extends BackendOnIptables {
  readonly mode = 'ipvs' as const;
  #ipvs: IpvsApplier | undefined;

  async sync(request: BackendSyncRequest, progress: BackendSyncProgress): Promise<number> {
    const iptables = await this.iptables();
    const { now, metrics } = this.context;
    if (this.#ipvs === undefined) {
      const ipvs = new IpvsApplier(this.context.runner, iptables);
      await ipvs.check();
      this.#ipvs = ipvs;
    }
    const renderStart = now();
    const plan = renderIpvs(request.state, request.config, { nodePortAddresses: request.nodePortAddresses });
    progress.renderMs = now() - renderStart;
    progress.full = true;
    progress.payloadBytes = plan.iptablesPayload.length;
    const applyStart = now();
    try {
      await this.#ipvs.apply(plan, await iptables.missingHooks());
    } catch (err) {
      metrics.restoreFailures.value++;
      throw err;
    } finally {
      progress.restoreMs = now() - applyStart;
    }
    return plan.iptablesPayload.split('\n-A ').length - 1;
  }
}
