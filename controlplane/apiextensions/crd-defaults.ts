/**
 * Upstream's defaults for a CustomResourceDefinition (apiextensions v1 SetDefaults): the singular
 * name is the lower-case kind, the list kind is the kind + "List", conversion is None, a conversion
 * webhook's Service is reached on port 443, and a version's scale paths and printer columns keep
 * what was sent.
 */
type Any = Record<string, any>;

export function defaultCrd(crd: Any): void {
  const spec = crd.spec;
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return;
  const names = spec.names;
  if (names !== null && typeof names === 'object' && !Array.isArray(names) && typeof names.kind === 'string') {
    if (names.singular === undefined || names.singular === '') names.singular = names.kind.toLowerCase();
    if (names.listKind === undefined || names.listKind === '') names.listKind = `${names.kind}List`;
  }
  if (spec.conversion === undefined || spec.conversion === null) spec.conversion = { strategy: 'None' };
  const service = spec.conversion?.webhook?.clientConfig?.service;
  if (service !== null && typeof service === 'object' && !Array.isArray(service) && service.port === undefined)
    service.port = 443;
}
