/**
 * Which images to delete, as the kubelet's image GC manager chooses (pkg/kubelet/images/image_gc_manager.go):
 *
 *  - when the image filesystem is at least --image-gc-high-threshold (85 %) full, free enough to
 *    bring it down to --image-gc-low-threshold (80 %);
 *  - candidates are images no container uses (running or stopped: a stopped container still needs
 *    its image to restart) and that are not pinned (the sandbox image never goes);
 *  - least recently used first (then first detected); an image first seen less than
 *    --minimum-image-ttl-duration (2 min) ago is left alone (it may be about to be used).
 */
import { compareText } from '../../kube/text-order.ts';
export interface ImageRecord {
  id: string;
  names: readonly string[];
  sizeBytes: number;
  /** When this agent first saw the image (ms). */
  firstDetected: number;
  /** When a container last used it (ms); 0: never seen in use. */
  lastUsed: number;
  inUse: boolean;
  pinned: boolean;
}

export interface GcPolicy {
  highPercent: number;
  lowPercent: number;
  minAgeMs: number;
}

export const defaultGcPolicy: GcPolicy = { highPercent: 85, lowPercent: 80, minAgeMs: 120_000 };

/** Bytes to free so that usage falls to the low threshold; 0 below the high one. */
export function bytesToFree(capacityBytes: number, availableBytes: number, policy: GcPolicy): number {
  if (capacityBytes <= 0 || policy.highPercent >= 100) return 0;
  const usedPercent = 100 - (availableBytes * 100) / capacityBytes;
  if (usedPercent < policy.highPercent) return 0;
  return Math.max(0, Math.ceil((capacityBytes * (100 - policy.lowPercent)) / 100 - availableBytes));
}

/** Images to delete, in order, until `wantBytes` are freed (Infinity: every candidate). */
export function chooseImagesToDelete(
  images: readonly ImageRecord[],
  wantBytes: number,
  now: number,
  minAgeMs: number,
): ImageRecord[] {
  const candidates = images
    .filter((i) => !i.inUse && !i.pinned && now - i.firstDetected >= minAgeMs)
    .sort((a, b) => a.lastUsed - b.lastUsed || a.firstDetected - b.firstDetected || compareText(a.id, b.id));
  const chosen: ImageRecord[] = [];
  let freed = 0;
  for (const image of candidates) {
    if (freed >= wantBytes) break;
    chosen.push(image);
    freed += image.sizeBytes;
  }
  return chosen;
}

/** Validates the three flags together; a one-line error or undefined. */
export function validateGcPolicy(policy: GcPolicy): string | undefined {
  const { highPercent: high, lowPercent: low } = policy;
  if (!(high >= 0 && high <= 100)) return `--image-gc-high-threshold ${high} must be between 0 and 100`;
  if (!(low >= 0 && low <= 100)) return `--image-gc-low-threshold ${low} must be between 0 and 100`;
  if (low > high) return `--image-gc-low-threshold ${low} must not be above --image-gc-high-threshold ${high}`;
  if (!(policy.minAgeMs >= 0)) return '--minimum-image-ttl-duration must not be negative';
  return undefined;
}
