/**
 * Cuts a byte stream (a socket's data events) into whole RPC frames. The length word is
 * checked as soon as it arrives, so an oversized or undersized length is refused before
 * anything is buffered for it.
 */
import { checkFrameLength } from './message.js';

export class FrameSplitter {
  #chunks: Buffer[] = [];
  #buffered = 0;

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number { return this.#buffered; }

  /** Adds `chunk`; returns the frames it completed (each with its length word). Throws XdrError for a bad length. */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.#buffered < 4) break;
      const head = this.#chunks[0].length >= 4 ? this.#chunks[0] : this.#flatten();
      const len = head.readUInt32BE(0);
      checkFrameLength(len);
      if (this.#buffered < len) break;
      const all = this.#flatten();
      frames.push(all.subarray(0, len));
      const rest = all.subarray(len);
      this.#chunks = rest.length ? [rest] : [];
      this.#buffered = rest.length;
    }
    return frames;
  }

  #flatten(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0];
  }
}
