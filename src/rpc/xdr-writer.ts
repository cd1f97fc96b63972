/**
 * Writes XDR (RFC 4506) primitives into a growing buffer. Limits are the encoder's caller's
 * (the codecs check a string or array against its protocol maximum before writing it).
 */
export class XdrWriter {
  #buf: Buffer;
  #pos = 0;

  constructor(initialSize = 256) {
    this.#buf = Buffer.alloc(initialSize);
  }

  /** Bytes written so far. */
  get length(): number { return this.#pos; }

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = Buffer.alloc(size);
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  int(v: number): void { this.#room(4); this.#buf.writeInt32BE(v, this.#pos); this.#pos += 4; }
  uint(v: number): void { this.#room(4); this.#buf.writeUInt32BE(v, this.#pos); this.#pos += 4; }
  hyper(v: bigint): void { this.#room(8); this.#buf.writeBigInt64BE(v, this.#pos); this.#pos += 8; }
  uhyper(v: bigint): void { this.#room(8); this.#buf.writeBigUInt64BE(v, this.#pos); this.#pos += 8; }
  float(v: number): void { this.#room(4); this.#buf.writeFloatBE(v, this.#pos); this.#pos += 4; }
  double(v: number): void { this.#room(8); this.#buf.writeDoubleBE(v, this.#pos); this.#pos += 8; }

  /** The bytes of `v`, then zero padding to a 4-byte boundary. */
  fixedOpaque(v: Uint8Array): void {
    const padded = v.length + ((4 - (v.length % 4)) % 4);
    this.#room(padded);
    this.#buf.set(v, this.#pos);
    this.#buf.fill(0, this.#pos + v.length, this.#pos + padded);
    this.#pos += padded;
  }

  /** Length, bytes, padding. */
  opaque(v: Uint8Array): void { this.uint(v.length); this.fixedOpaque(v); }

  /** Bytes written, as one Buffer (a copy: the writer may be reused). */
  toBuffer(): Buffer { return Buffer.from(this.#buf.subarray(0, this.#pos)); }
}
