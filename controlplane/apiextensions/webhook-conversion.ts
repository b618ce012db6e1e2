/**
 * A CustomResourceDefinition's conversion webhook (strategy Webhook), called as upstream calls it:
 * one ConversionReview per batch of objects, over HTTPS to the definition's URL or Service with
 * its caBundle, through the same client as the admission webhooks, within upstream's fixed 30 s.
 * What the webhook answers is pruned by the target version's schema, as upstream prunes converted
 * objects. Large reads go in reviews of at most 100 objects and about 4 MiB, side by side, so that
 * neither a request nor an answer grows with the collection.
 * Whatever goes wrong is a 500 without a reason (`Error from server: conversion webhook for
 * <group>/<version>, Kind=<Kind> failed: ...`), as upstream answers it: the read or write fails
 * whole, and nothing half-converted is stored or served.
 */
import { randomUUID } from 'node:crypto';
import { ApiError } from '../../kube/errors.ts';
import { callWebhook, CallFailure, type ServiceLookups } from '../admission/webhooks/client.ts';
import type { VersionConversion } from '../api/resources.ts';
import { type Crd, storageVersion } from './crd.ts';
import { pruneBySchema } from './schema-prune.ts';
import {
  ConversionFailure,
  conversionReview,
  kindLabel,
  readConversionAnswer,
  reviewVersionOf,
} from './conversion-review.ts';

/** Upstream's conversion client has no per-definition timeout: its webhook client's default. */
const conversionTimeoutSeconds = 30;
/** Objects per review: a page of a large list becomes several reviews. */
const objectsPerReview = 100;
/**
 * Bytes of objects per review (one larger object still goes, alone): the answer is about as large,
 * and the webhook client reads at most 16 MiB of it.
 */
const bytesPerReview = 4 * 1024 * 1024;

/** The objects in the order given, cut into reviews of at most objectsPerReview and about bytesPerReview. */
function batches<T>(objects: readonly T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const object of objects) {
    const size = Buffer.byteLength(JSON.stringify(object));
    if (current.length > 0 && (current.length >= objectsPerReview || bytes + size > bytesPerReview)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(object);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The conversion of a definition whose strategy is Webhook; undefined for None. */
export function webhookConversion(crd: Crd, lookups: ServiceLookups): VersionConversion | undefined {
  const conversion = crd.spec.conversion;
  const storage = storageVersion(crd);
  if (conversion?.strategy !== 'Webhook' || storage === undefined) return undefined;
  const clientConfig = conversion.webhook?.clientConfig ?? {};
  const reviewVersion = reviewVersionOf(conversion.webhook?.conversionReviewVersions);
  const schemas = new Map(crd.spec.versions.map((v) => [`${crd.spec.group}/${v.name}`, v.schema?.openAPIV3Schema]));
  const review = async (objects: readonly Record<string, unknown>[], apiVersion: string) => {
    const from = kindLabel(objects[0]?.apiVersion, objects[0]?.kind);
    if (reviewVersion === undefined) throw new ApiError('Unknown', 'no supported conversion review versions');
    const uid = randomUUID();
    let answer: unknown;
    try {
      answer = await callWebhook(
        clientConfig,
        conversionReview(reviewVersion, uid, apiVersion, objects),
        conversionTimeoutSeconds,
        lookups,
      );
    } catch (err) {
      const why = err instanceof CallFailure ? err.detail : (err as Error).message;
      throw new ApiError('Unknown', `conversion webhook for ${from} failed: ${why}`);
    }
    let converted: Record<string, unknown>[];
    try {
      converted = readConversionAnswer(answer, reviewVersion, uid, objects, apiVersion);
    } catch (err) {
      if (err instanceof ConversionFailure) throw new ApiError('Unknown', err.message);
      throw err;
    }
    const schema = schemas.get(apiVersion);
    if (schema !== undefined) for (const object of converted) pruneBySchema(object, schema);
    return converted;
  };
  return {
    storageApiVersion: `${crd.spec.group}/${storage.name}`,
    async convert(objects, apiVersion) {
      return (await Promise.all(batches(objects).map((batch) => review(batch, apiVersion)))).flat();
    },
  };
}
