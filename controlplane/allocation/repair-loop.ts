/**
 * The allocation repair loop every server runs (as upstream's API servers run their ClusterIP and
 * NodePort repair controllers): on start, then every interval (upstream's three minutes), it reads
 * the claims and then the Services, plans (repair-plan.ts) and carries the plan out, recording each
 * finding as a Warning Event on the Service. Claims are read first: a Service written between the
 * two reads then has its claim already, so it is never taken for one without.
 */
import type { Logger } from 'pino';
import { apiTime } from '../../kube/api-time.ts';
import { pause, type Clock } from '../../kube/clock.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Registry } from '../api/registry.ts';
import { findResource } from '../api/resources.ts';
import type { ClaimStore } from './claims.ts';
import { describe, planRepair, reasons, type RepairEvent, type RepairPlan } from './repair-plan.ts';

const defaultRepairIntervalMs = 3 * 60_000;

interface RepairLoopOptions {
  readonly registry: Registry;
  readonly claims: ClaimStore;
  readonly serviceCidr: string;
  readonly clock: Clock;
  readonly intervalMs?: number;
  readonly logger?: Logger;
}

const services = findResource('', 'v1', 'services')!;
const events = findResource('', 'v1', 'events')!;

export class AllocationRepair {
  readonly #options: RepairLoopOptions;
  #leakedPasses: ReadonlyMap<string, number> = new Map();

  constructor(options: RepairLoopOptions) {
    this.#options = options;
  }

  /** One pass; returns what it found and did. */
  async repairOnce(): Promise<RepairPlan> {
    const { registry, claims, serviceCidr } = this.#options;
    const seen = [...(await claims.list('ip')), ...(await claims.list('nodePort'))];
    const current = (await registry.list(services, undefined)).items;
    const plan = planRepair(current, seen, serviceCidr, this.#leakedPasses);
    this.#leakedPasses = plan.leakedPasses;
    for (const missing of plan.claim) {
      // 'held': the Service was written between the two reads, with its claim; nothing to say
      if ((await claims.claim(missing.kind, missing.value, missing.owner)) !== 'created' || !missing.report) continue;
      await this.#record({
        service: missing.service,
        reason: reasons[missing.kind].missing,
        message: `${describe(missing.kind, missing.value)} is not allocated; repairing`,
      });
    }
    for (const leaked of plan.free) {
      this.#options.logger?.warn({ kind: leaked.kind, value: leaked.value }, 'freed a leaked allocation');
      await claims.releaseSeen(leaked);
    }
    for (const event of plan.events) await this.#record(event);
    return plan;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { clock, logger } = this.#options;
    while (!signal.aborted) {
      try {
        await this.repairOnce();
      } catch (err) {
        logger?.warn({ err: (err as Error).message }, 'allocation repair pass failed; next interval retries');
      }
      await pause(clock, this.#options.intervalMs ?? defaultRepairIntervalMs, signal);
    }
  }

  async #record({ service, reason, message }: RepairEvent): Promise<void> {
    const at = apiTime(this.#options.clock.now());
    const namespace = service.metadata.namespace ?? 'default';
    const component = reason.startsWith('Port') ? 'portallocator-repair-controller' : 'ipallocator-repair-controller';
    const event: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        name: `${service.metadata.name}.${this.#options.clock.now().toString(16)}${Math.floor(Math.random() * 4096).toString(16)}`,
        namespace,
      },
      involvedObject: {
        kind: 'Service',
        apiVersion: 'v1',
        namespace,
        name: service.metadata.name,
        uid: service.metadata.uid,
        resourceVersion: service.metadata.resourceVersion,
      },
      reason,
      message,
      type: 'Warning',
      source: { component },
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
    };
    await this.#options.registry.create(events, namespace, event).catch((err: unknown) => {
      this.#options.logger?.warn({ err: (err as Error).message, reason }, 'could not record a repair event');
    });
  }
}
