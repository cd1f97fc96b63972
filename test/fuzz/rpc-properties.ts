/**
 * The RPC decoder fuzz properties (run by rpc-decoder.fuzz.test.ts in a worker): random
 * bytes, and real captured frames (test/fixtures/rpc/) truncated, bit-flipped, with lying
 * lengths and counts, go through the frame splitter and the decoder of every program and
 * procedure. Each must decode or throw XdrError: never another exception, never a hang.
 */
import fc from 'fast-check';
import { FrameSplitter } from '../../src/rpc/frame-splitter.js';
import { decodeFrame, MAX_FRAME } from '../../src/rpc/message.js';
import { decodeBody } from '../../src/rpc/programs.js';
import { XdrError } from '../../src/rpc/xdr-error.js';
import { allCapturedFrames } from '../rpc/rpc-fixtures.js';
import { fuzzParams } from './fuzz-support.js';

const FRAMES = allCapturedFrames().map((f) => f.frame);

/** Feeds `bytes` to a splitter and decodes what comes out; 'ok' or 'xdr-error', anything else rethrown with the input. */
function outcome(bytes: Buffer): 'ok' | 'xdr-error' {
  try {
    const splitter = new FrameSplitter();
    for (const frame of splitter.push(bytes)) decodeBody(decodeFrame(frame));
    return 'ok';
  } catch (err) {
    if (err instanceof XdrError) return 'xdr-error';
    const e = err instanceof Error ? err : new Error(String(err));
    throw new Error(`not an XdrError (${e.name}: ${e.message}) for ${bytes.length} bytes: ${bytes.subarray(0, 200).toString('hex')}`);
  }
}

/** Random bytes, some led by a plausible length word. */
export function randomBytes(): void {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (raw, framed) => {
    const bytes = Buffer.from(raw);
    if (framed && bytes.length >= 4) bytes.writeUInt32BE(bytes.length, 0);
    outcome(bytes);
  }), fuzzParams(3000));
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('word' as const), at: fc.nat(), value: fc.oneof(fc.constant(0xffffffff), fc.constant(0x7fffffff), fc.nat(), fc.constant(MAX_FRAME + 1)) }),
);

/** Captured frames with flipped bits, cut short, or a 4-byte word (a length, a count, a tag) replaced. */
export function mutatedCaptures(): void {
  fc.assert(fc.property(fc.nat(FRAMES.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), (index, mutations) => {
    let bytes = Buffer.from(FRAMES[index]);
    for (const m of mutations) {
      if (bytes.length === 0) break;
      const at = m.at % bytes.length;
      if (m.kind === 'flip') bytes[at] ^= m.bits;
      else if (m.kind === 'truncate') bytes = bytes.subarray(0, at);
      else if (at + 4 <= bytes.length) bytes.writeUInt32BE(m.value >>> 0, at - (at % 4));
    }
    // Keep the frame's own length word honest half of the time, so the payload decoders are reached.
    if (bytes.length >= 4 && index % 2 === 0) bytes.writeUInt32BE(bytes.length, 0);
    outcome(bytes);
  }), fuzzParams(3000));
}

/** Length words past libvirt's limit or below a header are refused at once, with nothing buffered for them. */
export function badLengths(): void {
  fc.assert(fc.property(fc.oneof(fc.integer({ min: MAX_FRAME + 1, max: 0xffffffff }), fc.integer({ min: 0, max: 27 })), (len) => {
    const word = Buffer.alloc(4);
    word.writeUInt32BE(len, 0);
    if (outcome(word) !== 'xdr-error') throw new Error(`length ${len} was accepted`);
  }), fuzzParams(500));
}
