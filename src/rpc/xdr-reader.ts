/**
 * Reads XDR (RFC 4506) primitives from a buffer: big-endian 4-byte units, variable data
 * padded to a multiple of 4. Every read checks the bytes are there, so a truncated or
 * lying packet raises XdrError rather than reading past its end.
 */
import { decodeUtf8Escaped } from '../conf/utf8-bytes.js';
import { XdrError } from './xdr-error.js';

export class XdrReader {
  readonly #buf: Buffer;
  #pos: number;
  readonly #end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
  }

  /** Bytes not read yet. */
  get remaining(): number { return this.#end - this.#pos; }
  /** The offset of the next byte to read. */
  get position(): number { return this.#pos; }

  #need(n: number, what: string): void {
    if (n > this.remaining) throw new XdrError(`truncated XDR data: ${what} needs ${n} bytes, ${this.remaining} left`);
  }

  int(): number { this.#need(4, 'int'); const v = this.#buf.readInt32BE(this.#pos); this.#pos += 4; return v; }
  uint(): number { this.#need(4, 'unsigned int'); const v = this.#buf.readUInt32BE(this.#pos); this.#pos += 4; return v; }
  hyper(): bigint { this.#need(8, 'hyper'); const v = this.#buf.readBigInt64BE(this.#pos); this.#pos += 8; return v; }
  uhyper(): bigint { this.#need(8, 'unsigned hyper'); const v = this.#buf.readBigUInt64BE(this.#pos); this.#pos += 8; return v; }
  float(): number { this.#need(4, 'float'); const v = this.#buf.readFloatBE(this.#pos); this.#pos += 4; return v; }
  double(): number { this.#need(8, 'double'); const v = this.#buf.readDoubleBE(this.#pos); this.#pos += 8; return v; }

  /** `n` bytes plus their padding to a 4-byte boundary (the padding's value is not checked, as glibc's xdr does not). */
  fixedOpaque(n: number): Buffer {
    const padded = n + ((4 - (n % 4)) % 4);
    this.#need(padded, `opaque[${n}]`);
    const v = Buffer.from(this.#buf.subarray(this.#pos, this.#pos + n));
    this.#pos += padded;
    return v;
  }

  /** A 4-byte length, checked against `max` and against what is left, before anything is allocated. */
  length(max: number, what: string): number {
    const n = this.uint();
    if (n > max) throw new XdrError(`${what} length ${n} is over its limit ${max}`);
    return n;
  }

  /** Variable-length opaque data of at most `max` bytes. */
  opaque(max: number): Buffer { return this.fixedOpaque(this.length(max, 'opaque')); }

  /**
   * A string of at most `max` bytes. libvirt's strings are C strings, UTF-8 by convention
   * but not checked: bytes that are not UTF-8 are kept, escaped (conf/utf8-bytes.ts), so
   * the XML parser reports them as libxml2 does and they go back out unchanged.
   */
  string(max: number): string { return decodeUtf8Escaped(this.fixedOpaque(this.length(max, 'string'))); }
}
