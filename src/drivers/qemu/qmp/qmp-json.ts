/**
 * Narrowing helpers for QMP replies. Replies are typed `unknown` and checked field by
 * field, so a QEMU that answers differently fails loudly instead of being misread.
 */
import { QmpProtocolError } from './qmp-errors.js';

/** A JSON object as QMP sends it. */
export type JsonObject = { [key: string]: unknown };

/** True when `v` is a plain JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `v` as an object, or a protocol error naming `what`. */
export function expectObject(v: unknown, what: string): JsonObject {
  if (!isJsonObject(v)) throw new QmpProtocolError(`${what}: expected an object`);
  return v;
}

/** `v` as an array, or a protocol error naming `what`. */
export function expectArray(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new QmpProtocolError(`${what}: expected an array`);
  return v;
}

/** `o[key]` as a string, or a protocol error. */
export function expectString(o: JsonObject, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new QmpProtocolError(`${what}: '${key}' is not a string`);
  return v;
}

/** `o[key]` as a number, or a protocol error. */
export function expectNumber(o: JsonObject, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== 'number') throw new QmpProtocolError(`${what}: '${key}' is not a number`);
  return v;
}

/** `o[key]` as a string, or undefined when absent or of another type. */
export function optionalString(o: JsonObject, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}
