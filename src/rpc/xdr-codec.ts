/**
 * XDR types as values: a Codec<T> encodes and decodes one XDR type. The generated protocol
 * modules (src/rpc/generated/) build every libvirt type out of these, so limits (a string's
 * <max>, an array's <max>) and NULL pointers are handled in one place.
 */
import { encodeUtf8Escaped } from '../conf/utf8-bytes.js';
import { XdrError } from './xdr-error.js';
import type { XdrReader } from './xdr-reader.js';
import type { XdrWriter } from './xdr-writer.js';

export interface Codec<T> {
  encode(w: XdrWriter, value: T): void;
  decode(r: XdrReader): T;
}

function checkInt(v: number, lo: number, hi: number, what: string): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new XdrError(`${what} value ${v} out of range`);
}

export const int: Codec<number> = {
  encode: (w, v) => { checkInt(v, -0x80000000, 0x7fffffff, 'int'); w.int(v); },
  decode: (r) => r.int(),
};
export const uint: Codec<number> = {
  encode: (w, v) => { checkInt(v, 0, 0xffffffff, 'unsigned int'); w.uint(v); },
  decode: (r) => r.uint(),
};
export const hyper: Codec<bigint> = { encode: (w, v) => w.hyper(BigInt.asIntN(64, v)), decode: (r) => r.hyper() };
export const uhyper: Codec<bigint> = { encode: (w, v) => w.uhyper(BigInt.asUintN(64, v)), decode: (r) => r.uhyper() };
export const float: Codec<number> = { encode: (w, v) => w.float(v), decode: (r) => r.float() };
export const double: Codec<number> = { encode: (w, v) => w.double(v), decode: (r) => r.double() };
/** XDR bool: 0 or 1 on the wire; any non-zero reads as true, as glibc's xdr_bool reads it. */
export const bool: Codec<boolean> = { encode: (w, v) => w.int(v ? 1 : 0), decode: (r) => r.int() !== 0 };
/** XDR void: nothing on the wire. */
export const xdrVoid: Codec<null> = { encode: () => undefined, decode: () => null };

/** `string name<max>`: its bytes (escaped bytes written back as they came, see XdrReader.string). */
export function string(max: number): Codec<string> {
  return {
    encode: (w, v) => {
      const bytes = encodeUtf8Escaped(v);
      if (bytes.length > max) throw new XdrError(`string of ${bytes.length} bytes is over its limit ${max}`);
      w.opaque(bytes);
    },
    decode: (r) => r.string(max),
  };
}

/** `opaque name<max>`. */
export function opaque(max: number): Codec<Buffer> {
  return {
    encode: (w, v) => {
      if (v.length > max) throw new XdrError(`opaque of ${v.length} bytes is over its limit ${max}`);
      w.opaque(v);
    },
    decode: (r) => r.opaque(max),
  };
}

/** `opaque name[n]`. */
export function fixedOpaque(n: number): Codec<Buffer> {
  return {
    encode: (w, v) => {
      if (v.length !== n) throw new XdrError(`opaque[${n}] given ${v.length} bytes`);
      w.fixedOpaque(v);
    },
    decode: (r) => r.fixedOpaque(n),
  };
}

/** `type name<max>`: a counted array. */
export function array<T>(item: Codec<T>, max: number): Codec<T[]> {
  return {
    encode: (w, v) => {
      if (v.length > max) throw new XdrError(`array of ${v.length} items is over its limit ${max}`);
      w.uint(v.length);
      for (const x of v) item.encode(w, x);
    },
    decode: (r) => {
      const n = r.length(max, 'array');
      // Every item takes at least 4 bytes: a count larger than the rest of the packet is a lie.
      if (n * 4 > r.remaining) throw new XdrError(`array of ${n} items cannot fit in ${r.remaining} bytes`);
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(item.decode(r));
      return out;
    },
  };
}

/** `type name[n]`: a fixed-size array. */
export function fixedArray<T>(item: Codec<T>, n: number): Codec<T[]> {
  return {
    encode: (w, v) => {
      if (v.length !== n) throw new XdrError(`array[${n}] given ${v.length} items`);
      for (const x of v) item.encode(w, x);
    },
    decode: (r) => {
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(item.decode(r));
      return out;
    },
  };
}

/** `type *name`: an optional value, a bool then the value when present (null when absent). */
export function optional<T>(item: Codec<T>): Codec<T | null> {
  return {
    encode: (w, v) => {
      w.int(v === null ? 0 : 1);
      if (v !== null) item.encode(w, v);
    },
    decode: (r) => (bool.decode(r) ? item.decode(r) : null),
  };
}

/** An enum: an int that must be one of `values`. */
export function enumeration(name: string, values: readonly number[]): Codec<number> {
  const known = new Set(values);
  return {
    encode: (w, v) => {
      if (!known.has(v)) throw new XdrError(`${v} is not a value of enum ${name}`);
      w.int(v);
    },
    decode: (r) => {
      const v = r.int();
      if (!known.has(v)) throw new XdrError(`${v} is not a value of enum ${name}`);
      return v;
    },
  };
}

/** A struct: its fields in declaration order (the object's key order). */
export function struct<T extends object>(fields: { [K in keyof T]: Codec<T[K]> }): Codec<T> {
  const entries = Object.entries(fields) as [keyof T & string, Codec<unknown>][];
  return {
    encode: (w, v) => {
      for (const [key, codec] of entries) codec.encode(w, v[key]);
    },
    decode: (r) => {
      const out: Record<string, unknown> = {};
      for (const [key, codec] of entries) out[key] = codec.decode(r);
      return out as T;
    },
  };
}

/** A discriminated union over an int: `{ type, value }`, `value` coded by the arm `type` selects. */
export function union<T extends { type: number; value: unknown }>(name: string, arms: ReadonlyMap<number, Codec<unknown>>): Codec<T> {
  const arm = (type: number): Codec<unknown> => {
    const codec = arms.get(type);
    if (!codec) throw new XdrError(`${type} is not a case of union ${name}`);
    return codec;
  };
  return {
    encode: (w, v) => { const codec = arm(v.type); w.int(v.type); codec.encode(w, v.value); },
    decode: (r) => { const type = r.int(); return { type, value: arm(type).decode(r) } as T; },
  };
}
