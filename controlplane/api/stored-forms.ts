/**
 * Kinds served in more than one form over one stored object: events (core/v1 ⇄ events.k8s.io/v1,
 * event-conversion.ts) and HorizontalPodAutoscalers (autoscaling/v2 ⇄ autoscaling/v1,
 * hpa-conversion.ts). The registry stores the one form and converts on the way in and out, so an
 * object written through either version is read through both.
 */
import type { KubeObject } from '../../kube/types.ts';
import { defaultHorizontalPodAutoscalerV2 } from '../admission/hpa-defaults.ts';
import { coreToEventsV1, eventsV1ToCore } from './event-conversion.ts';
import { hpaV1ToV2, hpaV2ToV1 } from './hpa-conversion.ts';
import type { ResourceInfo } from './resources.ts';

function isEventsV1(info: ResourceInfo): boolean {
  return info.group === 'events.k8s.io';
}

function isAutoscalingV1Hpa(info: ResourceInfo): boolean {
  return info.group === 'autoscaling' && info.version === 'v1' && info.resource === 'horizontalpodautoscalers';
}

/** The stored object as `info`'s version serves it. */
export function servedForm(info: ResourceInfo, stored: KubeObject): KubeObject {
  if (isEventsV1(info)) return coreToEventsV1(stored);
  if (isAutoscalingV1Hpa(info)) return hpaV2ToV1(stored);
  return stored;
}

/** An object of `info`'s version in the form the datastore keeps. */
export function storedForm(info: ResourceInfo, served: KubeObject): KubeObject {
  if (isEventsV1(info)) return { ...eventsV1ToCore(served), apiVersion: 'v1' };
  if (isAutoscalingV1Hpa(info)) {
    // the v2 defaults apply to what v1 cannot say (behavior rules from its annotation), as
    // upstream's decoding of the stored v2 object applies them
    const stored = hpaV1ToV2(served);
    defaultHorizontalPodAutoscalerV2(stored);
    return stored;
  }
  return served;
}
