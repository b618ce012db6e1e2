/**
 * A small protobuf codec for the CRI listing calls (ListContainers, ListPodSandbox, ListImages,
 * Version), driven by the same descriptor as protobufjs (proto/runtime_v1.json) but without
 * generating code: protobufjs builds encode, decode, fromObject and toObject functions per message
 * type on first use, which was about a quarter of a `bosun cri ps` run's CPU.
 *
 * It knows only what those messages hold: strings, bools, 32- and 64-bit integers, enums, nested
 * messages, repeated fields of strings or messages, and string-to-string maps. `supports` says
 * whether a message (and every type it reaches) stays within that, so a caller can fall back to
 * protobufjs for anything else.
 *
 * The objects it returns are those protobufjs's `toObject` gives with bosun's options (longs as
 * numbers, enums as names, defaults filled in, absent nested messages left out), with the same
 * key order, so `-o json` prints the same bytes either way; test/cri/wire-codec.test.ts compares
 * the two on the same messages.
 */

/** A message or enum as the descriptor JSON writes it (protobufjs's `Root.toJSON` shape). */
export interface DescriptorType {
  fields?: Record<string, { type: string; id: number; rule?: string; keyType?: string }>;
  values?: Record<string, number>;
  nested?: Record<string, DescriptorType>;
}

type Scalar = 'string' | 'bool' | 'int32' | 'uint32' | 'int64' | 'uint64';
const scalars = new Set<string>(['string', 'bool', 'int32', 'uint32', 'int64', 'uint64']);

interface EnumLayout {
  names: Map<number, string>;
  numbers: Map<string, number>;
  defaultName: string;
}

type Kind =
  | { kind: 'scalar'; type: Scalar }
  | { kind: 'enum'; layout: EnumLayout }
  | { kind: 'message'; layout: () => MessageLayout };

interface FieldLayout {
  name: string;
  id: number;
  /** Where a decoded message keeps this field's value (its place in id order). */
  slot: number;
  shape: 'single' | 'repeated' | 'map';
  of: Kind;
}

interface MessageLayout {
  byId: Map<number, FieldLayout>;
  /** In id order: what the encoder writes in. */
  fields: FieldLayout[];
  /** The order of the keys of a decoded object: repeated fields, then maps, then the rest, each by id. */
  keyOrder: FieldLayout[];
}

/** Why a type is out of reach of this codec, or undefined when it is within. */
function unsupportedIn(
  types: Record<string, DescriptorType>,
  name: string,
  seen = new Set<string>(),
): string | undefined {
  if (seen.has(name)) return undefined;
  seen.add(name);
  const type = types[name];
  if (type === undefined) return `unknown type ${name}`;
  if (type.values !== undefined) return undefined;
  for (const [fieldName, field] of Object.entries(type.fields ?? {})) {
    if (field.keyType !== undefined && (field.keyType !== 'string' || field.type !== 'string')) {
      return `${name}.${fieldName}: maps other than string to string`;
    }
    if (scalars.has(field.type)) {
      if (field.rule === 'repeated' && field.type !== 'string') return `${name}.${fieldName}: repeated numbers`;
      continue;
    }
    if (type.nested?.[field.type] !== undefined) return `${name}.${fieldName}: nested type ${field.type}`;
    const why = unsupportedIn(types, field.type, seen);
    if (why !== undefined) return why;
  }
  if ('oneofs' in type) return `${name}: oneof`;
  return undefined;
}

/** Whether this codec can carry the named message type of `types` (one package's namespace). */
export function supports(types: Record<string, DescriptorType>, name: string): boolean {
  return unsupportedIn(types, name) === undefined;
}

class Layouts {
  readonly #types: Record<string, DescriptorType>;
  readonly #messages = new Map<string, MessageLayout>();
  readonly #enums = new Map<string, EnumLayout>();

  constructor(types: Record<string, DescriptorType>) {
    this.#types = types;
  }

  message(name: string): MessageLayout {
    let layout = this.#messages.get(name);
    if (layout !== undefined) return layout;
    const fields = Object.entries(this.#types[name]?.fields ?? {})
      .map(([fieldName, field]): FieldLayout => {
        const shape = field.keyType !== undefined ? 'map' : field.rule === 'repeated' ? 'repeated' : 'single';
        return { name: fieldName, id: field.id, slot: 0, shape, of: this.#kind(field.type) };
      })
      .sort((a, b) => a.id - b.id);
    fields.forEach((field, slot) => {
      field.slot = slot;
    });
    const ofShape = (shape: FieldLayout['shape']) => fields.filter((f) => f.shape === shape);
    layout = {
      byId: new Map(fields.map((f) => [f.id, f])),
      fields,
      keyOrder: [...ofShape('repeated'), ...ofShape('map'), ...ofShape('single')],
    };
    this.#messages.set(name, layout);
    return layout;
  }

  #kind(type: string): Kind {
    if (scalars.has(type)) return { kind: 'scalar', type: type as Scalar };
    const values = this.#types[type]?.values;
    if (values === undefined) return { kind: 'message', layout: () => this.message(type) };
    let layout = this.#enums.get(type);
    if (layout === undefined) {
      const names = new Map<number, string>();
      // the first name of a number wins, as protobufjs's valuesById does with aliases
      for (const [valueName, value] of Object.entries(values)) if (!names.has(value)) names.set(value, valueName);
      layout = { names, numbers: new Map(Object.entries(values)), defaultName: names.get(0) ?? '' };
      this.#enums.set(type, layout);
    }
    return { kind: 'enum', layout };
  }
}

// ---------------------------------------------------------------- decoding

const wire = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** The high 32 bits of the last varint64 (kept here, not in a returned pair, to allocate nothing per field). */
  high = 0;

  /** A varint's low 32 bits (unsigned); its high 32 bits are left in `high`. */
  varint64(): number {
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw new RangeError('a protobuf varint runs past the end of its message');
      const byte = this.buf[this.pos++]!;
      const bits = byte & 0x7f;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >> 4;
      } else hi |= bits << (shift - 32);
      if (byte < 0x80) {
        this.high = hi >>> 0;
        return lo >>> 0;
      }
    }
    throw new RangeError('a protobuf varint is longer than 10 bytes');
  }

  varint32(): number {
    // tags and short lengths are one byte: the common case, without the general loop
    if (this.pos < this.end && this.buf[this.pos]! < 0x80) return this.buf[this.pos++]!;
    return this.varint64();
  }

  /** Steps over a length-delimited field's bytes and returns where they start (they end at `pos`). */
  delimited(): number {
    const length = this.varint32();
    const start = this.pos;
    if (length > this.end - start) throw new RangeError('a protobuf field runs past the end of its message');
    this.pos = start + length;
    return start;
  }

  skip(wireType: number): void {
    if (wireType === wire.varint) {
      // any length, as protobufjs skips one; only a value that is read must fit in 10 bytes
      do {
        if (this.pos >= this.end) throw new RangeError('a protobuf varint runs past the end of its message');
      } while (this.buf[this.pos++]! & 0x80);
    } else if (wireType === wire.bytes) this.delimited();
    else if (wireType === wire.fixed64 || wireType === wire.fixed32) {
      const size = wireType === wire.fixed64 ? 8 : 4;
      if (size > this.end - this.pos) throw new RangeError('a protobuf field runs past the end of its message');
      this.pos += size;
    } else throw new Error(`invalid protobuf wire type ${wireType}`);
  }
}

/** A 64-bit integer from its halves, as protobufjs's LongBits.toNumber gives it (precision beyond 2^53 lost alike). */
function longToNumber(lo: number, hi: number, unsigned: boolean): number {
  if (!unsigned && hi >>> 31) {
    let negLo = (~lo + 1) >>> 0;
    let negHi = ~hi >>> 0;
    if (negLo === 0) negHi = (negHi + 1) >>> 0;
    negLo = negLo >>> 0;
    return -(negLo + negHi * 4294967296);
  }
  return lo + hi * 4294967296;
}

const wireTypeOf = (of: Kind, shape: FieldLayout['shape']): number =>
  shape === 'map' || of.kind === 'message' || (of.kind === 'scalar' && of.type === 'string') ? wire.bytes : wire.varint;

function readScalar(reader: Reader, type: Scalar): string | number | boolean {
  if (type === 'string') {
    const start = reader.delimited();
    return reader.buf.toString('utf8', start, reader.pos);
  }
  const lo = reader.varint64();
  const hi = reader.high;
  switch (type) {
    case 'bool':
      return lo !== 0;
    case 'int32':
      return lo | 0;
    case 'uint32':
      return lo;
    case 'int64':
      return longToNumber(lo, hi, false);
    case 'uint64':
      return longToNumber(lo, hi, true);
  }
}

/** One map entry (key 1, value 2; both strings here) into `map`; a missing half is the empty string. */
function readMapEntry(reader: Reader, map: Record<string, string>): void {
  const start = reader.delimited();
  const entry = new Reader(reader.buf, start, reader.pos);
  let key = '';
  let value = '';
  while (entry.pos < entry.end) {
    const tag = entry.varint32();
    const id = tag >>> 3;
    if ((id === 1 || id === 2) && (tag & 7) === wire.bytes) {
      const text = readScalar(entry, 'string') as string;
      if (id === 1) key = text;
      else value = text;
    } else entry.skip(tag & 7);
  }
  // a label named __proto__ is data like any other (protobufjs keeps it too), not a prototype
  if (key === '__proto__')
    Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  else map[key] = value;
}

const scalarDefaults: Record<Scalar, string | number | boolean> = {
  string: '',
  bool: false,
  int32: 0,
  uint32: 0,
  int64: 0,
  uint64: 0,
};

function defaultOf(field: FieldLayout): unknown {
  if (field.shape === 'repeated') return [];
  if (field.shape === 'map') return {};
  if (field.of.kind === 'enum') return field.of.layout.defaultName;
  if (field.of.kind === 'message') return undefined;
  return scalarDefaults[field.of.type];
}

/**
 * A message's decoded fields by slot (undefined: not sent), kept apart from its object form so
 * that a repeated occurrence merges.
 */
type Fields = unknown[];

/**
 * Reads a message's fields into `into`. A field that occurs again follows protobuf's merge rule, as
 * protobufjs does: a later scalar wins, repeated fields and maps add up, a nested message merges.
 */
function readFields(reader: Reader, layout: MessageLayout, into: Fields, depth: number): Fields {
  if (depth > 32) throw new Error('protobuf messages nest too deeply');
  while (reader.pos < reader.end) {
    const tag = reader.varint32();
    const field = layout.byId.get(tag >>> 3);
    if (field === undefined || (tag & 7) !== wireTypeOf(field.of, field.shape)) {
      reader.skip(tag & 7);
      continue;
    }
    if (field.shape === 'map') {
      let map = into[field.slot] as Record<string, string> | undefined;
      if (map === undefined) into[field.slot] = map = {};
      readMapEntry(reader, map);
      continue;
    }
    let value: unknown;
    if (field.of.kind === 'message') {
      const start = reader.delimited();
      const end = reader.pos;
      const earlier = field.shape === 'single' ? (into[field.slot] as Fields | undefined) : undefined;
      value = readFields(new Reader(reader.buf, start, end), field.of.layout(), earlier ?? [], depth + 1);
    } else if (field.of.kind === 'enum') {
      const number = reader.varint32() | 0;
      value = field.of.layout.names.get(number) ?? number;
    } else value = readScalar(reader, field.of.type);
    if (field.shape === 'repeated') {
      const list = into[field.slot] as unknown[] | undefined;
      if (list === undefined) into[field.slot] = [value];
      else list.push(value);
    } else into[field.slot] = value;
  }
  return into;
}

/** The plain object of decoded fields: every field, defaults filled in, in protobufjs's key order. */
function objectOf(layout: MessageLayout, fields: Fields): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const field of layout.keyOrder) {
    let value = fields[field.slot] ?? defaultOf(field);
    if (value === undefined) continue;
    if (field.of.kind === 'message') {
      const nested = field.of.layout();
      value =
        field.shape === 'repeated'
          ? (value as Fields[]).map((item) => objectOf(nested, item))
          : objectOf(nested, value as Fields);
    }
    object[field.name] = value;
  }
  return object;
}

// ---------------------------------------------------------------- encoding

class Writer {
  readonly #chunks: Buffer[] = [];

  varint(value: number): void {
    const bytes: number[] = [];
    let rest = value >>> 0;
    while (rest >= 0x80) {
      bytes.push((rest & 0x7f) | 0x80);
      rest >>>= 7;
    }
    bytes.push(rest);
    this.#chunks.push(Buffer.from(bytes));
  }

  /** A negative int32/enum is sent as a 10-byte varint, as protobufjs and every other encoder do. */
  signedVarint(value: number): void {
    if (value >= 0) {
      this.varint(value);
      return;
    }
    const bytes: number[] = [];
    let lo = value >>> 0;
    for (let i = 0; i < 4; i += 1) {
      bytes.push((lo & 0x7f) | 0x80);
      lo >>>= 7;
    }
    // bits 28..63: the top nibble of lo, then all ones
    bytes.push((lo & 0x0f) | 0xf0, 0xff, 0xff, 0xff, 0xff, 0x01);
    this.#chunks.push(Buffer.from(bytes));
  }

  tag(id: number, wireType: number): void {
    this.varint((id << 3) | wireType);
  }

  bytes(data: Buffer): void {
    this.varint(data.length);
    this.#chunks.push(data);
  }

  finish(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}

/**
 * The number protobufjs's fromObject sends for an enum field, or undefined when it leaves the
 * field out (a name it does not know).
 */
function enumNumber(layout: EnumLayout, value: unknown): number | undefined {
  if (typeof value === 'number') return value | 0;
  return layout.numbers.get(String(value));
}

function writeMessage(writer: Writer, layout: MessageLayout, object: Record<string, unknown>): void {
  for (const field of layout.fields) {
    const value = object[field.name];
    if (value === undefined || value === null) continue;
    if (field.shape === 'map') {
      for (const [key, entryValue] of Object.entries(value as Record<string, unknown>)) {
        const entry = new Writer();
        entry.tag(1, wire.bytes);
        entry.bytes(Buffer.from(key, 'utf8'));
        entry.tag(2, wire.bytes);
        entry.bytes(Buffer.from(String(entryValue), 'utf8'));
        writer.tag(field.id, wire.bytes);
        writer.bytes(entry.finish());
      }
      continue;
    }
    const items = field.shape === 'repeated' ? (value as unknown[]) : [value];
    for (const item of items) writeValue(writer, field, item);
  }
}

/**
 * One value of a field. A single scalar or enum that holds its default is not sent (proto3's
 * implicit presence, as protobufjs encodes it); a nested message is sent even when empty.
 */
function writeValue(writer: Writer, field: FieldLayout, value: unknown): void {
  const of = field.of;
  const single = field.shape === 'single';
  if (of.kind === 'message') {
    const nested = new Writer();
    writeMessage(nested, of.layout(), value as Record<string, unknown>);
    writer.tag(field.id, wire.bytes);
    writer.bytes(nested.finish());
  } else if (of.kind === 'enum') {
    const number = enumNumber(of.layout, value);
    if (number === undefined || (single && number === 0)) return;
    writer.tag(field.id, wire.varint);
    writer.signedVarint(number);
  } else if (of.type === 'string') {
    const text = String(value);
    if (single && text === '') return;
    writer.tag(field.id, wire.bytes);
    writer.bytes(Buffer.from(text, 'utf8'));
  } else if (of.type === 'bool') {
    if (single && !value) return;
    writer.tag(field.id, wire.varint);
    writer.varint(value ? 1 : 0);
  } else if (of.type === 'int32' || of.type === 'uint32') {
    const number = of.type === 'int32' ? Number(value) | 0 : Number(value) >>> 0;
    if (single && number === 0) return;
    writer.tag(field.id, wire.varint);
    writer.signedVarint(number);
  } else {
    // 64-bit request fields: none of the listing requests has one
    throw new Error(`${field.name}: encoding ${of.type} is not supported here`);
  }
}

// ---------------------------------------------------------------- codec

interface MessageCodec {
  encode(object: object): Buffer;
  decode(bytes: Buffer): unknown;
}

/** The codec of one message type of `types`; check `supports` first. */
export function wireCodec(types: Record<string, DescriptorType>, name: string): MessageCodec {
  const layouts = new Layouts(types);
  const layout = layouts.message(name);
  return {
    encode(object: object): Buffer {
      const writer = new Writer();
      writeMessage(writer, layout, object as Record<string, unknown>);
      return writer.finish();
    },
    decode(bytes: Buffer): unknown {
      return objectOf(layout, readFields(new Reader(bytes, 0, bytes.length), layout, [], 0));
    },
  };
}
