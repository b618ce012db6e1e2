/**
 * The few `Reflect` metadata functions that @peculiar/x509's dependency injection container
 * (tsyringe) looks for when it loads. It refuses to load without them, and only uses them to find
 * constructor parameters of its own registered classes, so a map per target is all it needs; a
 * full polyfill package would be one more dependency for three functions.
 */
type MetadataKey = string | symbol;
type Store = Map<MetadataKey, unknown>;

const stores = new WeakMap<object, Store>();

function ownStore(target: object, create: boolean): Store | undefined {
  let store = stores.get(target);
  if (store === undefined && create) {
    store = new Map();
    stores.set(target, store);
  }
  return store;
}

function getOwnMetadata(key: MetadataKey, target: object): unknown {
  return ownStore(target, false)?.get(key);
}

function getMetadata(key: MetadataKey, target: object): unknown {
  for (let at: object | null = target; at !== null; at = Object.getPrototypeOf(at) as object | null) {
    const value = getOwnMetadata(key, at);
    if (value !== undefined) return value;
  }
  return undefined;
}

function defineMetadata(key: MetadataKey, value: unknown, target: object): void {
  ownStore(target, true)!.set(key, value);
}

function metadata(key: MetadataKey, value: unknown): (target: object) => void {
  return (target) => defineMetadata(key, value, target);
}

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect.getMetadata !== 'function') {
  Object.assign(reflect, { getMetadata, getOwnMetadata, defineMetadata, metadata });
}
