/**
 * The CustomResourceDefinition object (apiextensions.k8s.io/v1) as the server reads it, and the
 * facts derived from it that several parts need: its storage version, its served versions, its
 * names with upstream's defaults, and its conditions.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { JsonSchema } from './schema-types.ts';

export const crdGroup = 'apiextensions.k8s.io';
export const crdResource = 'customresourcedefinitions';
/** Upstream's finalizer: a CRD being deleted stays until all its objects are gone. */
export const cleanupFinalizer = 'customresourcecleanup.apiextensions.k8s.io';

export interface PrinterColumn {
  readonly name: string;
  readonly type: string;
  readonly format?: string;
  readonly description?: string;
  readonly priority?: number;
  readonly jsonPath: string;
}

export interface CrdVersion {
  readonly name: string;
  readonly served: boolean;
  readonly storage: boolean;
  readonly deprecated?: boolean;
  readonly deprecationWarning?: string;
  readonly schema?: { readonly openAPIV3Schema?: JsonSchema };
  readonly subresources?: {
    readonly status?: Record<string, never>;
    readonly scale?: {
      readonly specReplicasPath: string;
      readonly statusReplicasPath: string;
      readonly labelSelectorPath?: string;
    };
  };
  readonly additionalPrinterColumns?: readonly PrinterColumn[];
  readonly selectableFields?: readonly { readonly jsonPath: string }[];
}

export interface CrdNames {
  readonly plural: string;
  readonly singular?: string;
  readonly kind: string;
  readonly listKind?: string;
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
}

export interface CrdCondition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

interface CrdSpec {
  readonly group: string;
  readonly names: CrdNames;
  readonly scope: 'Namespaced' | 'Cluster';
  readonly versions: readonly CrdVersion[];
  readonly conversion?: {
    readonly strategy?: 'None' | 'Webhook';
    readonly webhook?: {
      /** A URL or a Service reference, and the CA bundle to trust (as an admission webhook's). */
      readonly clientConfig?: Record<string, unknown>;
      readonly conversionReviewVersions?: readonly string[];
    };
  };
  readonly preserveUnknownFields?: boolean;
}

export interface CrdStatus {
  readonly conditions?: readonly CrdCondition[];
  readonly acceptedNames?: CrdNames;
  readonly storedVersions?: readonly string[];
}

export type Crd = KubeObject & { spec: CrdSpec; status?: CrdStatus };

/** The names with upstream's defaults filled in: singular = lower-case kind, listKind = kind + "List". */
export function namesWithDefaults(
  names: CrdNames,
): Required<Pick<CrdNames, 'plural' | 'singular' | 'kind' | 'listKind'>> & CrdNames {
  return {
    ...names,
    singular: names.singular || names.kind.toLowerCase(),
    listKind: names.listKind || `${names.kind}List`,
  };
}

export function storageVersion(crd: Crd): CrdVersion | undefined {
  return crd.spec.versions.find((v) => v.storage);
}

function conditionOf(crd: Crd, type: string): CrdCondition | undefined {
  return crd.status?.conditions?.find((c) => c.type === type);
}

export function isEstablished(crd: Crd): boolean {
  return conditionOf(crd, 'Established')?.status === 'True';
}
