/**
 * One RPC message on the wire, as libvirt frames it: a 4-byte big-endian length that counts
 * itself, a 24-byte header (program, version, procedure, type, serial, status), then the
 * payload: a procedure's args for a CALL, its ret (status OK) or a remote_error (status
 * ERROR) for a REPLY, an event's msg for a MESSAGE. At most VIR_NET_MESSAGE_MAX bytes after
 * the length word, as libvirt allows.
 */
import {
  VIR_NET_MESSAGE_HEADER_MAX, VIR_NET_MESSAGE_LEN_MAX, VIR_NET_MESSAGE_MAX, virNetMessageHeader,
  VirNetMessageStatus, VirNetMessageType, type VirNetMessageHeader,
} from './generated/virnet-protocol.js';
import type { Codec } from './xdr-codec.js';
import { XdrError } from './xdr-error.js';
import { XdrReader } from './xdr-reader.js';
import { XdrWriter } from './xdr-writer.js';

export type MessageHeader = VirNetMessageHeader;
export { VirNetMessageStatus as MessageStatus, VirNetMessageType as MessageType };

/** A decoded frame: its header, and the payload bytes still to be decoded by the procedure's codec. */
export interface RpcMessage {
  header: MessageHeader;
  payload: Buffer;
}

/** The smallest frame: the length word and a header. */
export const MIN_FRAME = VIR_NET_MESSAGE_LEN_MAX + VIR_NET_MESSAGE_HEADER_MAX;
/** The largest frame: the length word and VIR_NET_MESSAGE_MAX bytes. */
export const MAX_FRAME = VIR_NET_MESSAGE_LEN_MAX + VIR_NET_MESSAGE_MAX;

/** Checks a frame length read off the wire, as libvirt's virNetMessageDecodeLength does. */
export function checkFrameLength(len: number): void {
  if (len < MIN_FRAME) throw new XdrError(`packet ${len} bytes received too small, want at least ${MIN_FRAME}`);
  if (len > MAX_FRAME) throw new XdrError(`packet ${len} bytes received too large, want at most ${MAX_FRAME}`);
}

/** A whole frame (length word included) for `header` and `payload`. */
export function encodeFrame(header: MessageHeader, payload: Buffer): Buffer {
  const w = new XdrWriter(MIN_FRAME + payload.length);
  w.uint(0);
  virNetMessageHeader.encode(w, header);
  const head = w.toBuffer();
  const len = head.length + payload.length;
  if (len > MAX_FRAME) throw new XdrError(`message of ${len} bytes is over libvirt's limit ${MAX_FRAME}`);
  head.writeUInt32BE(len, 0);
  return Buffer.concat([head, payload]);
}

/** Decodes one whole frame (length word included). */
export function decodeFrame(frame: Buffer): RpcMessage {
  if (frame.length < VIR_NET_MESSAGE_LEN_MAX) throw new XdrError(`packet ${frame.length} bytes received too small`);
  const len = frame.readUInt32BE(0);
  checkFrameLength(len);
  if (len !== frame.length) throw new XdrError(`packet length word says ${len} bytes, frame has ${frame.length}`);
  const r = new XdrReader(frame, VIR_NET_MESSAGE_LEN_MAX);
  const header = virNetMessageHeader.decode(r);
  return { header, payload: frame.subarray(r.position) };
}

/** The XDR bytes of `value`. */
export function encodePayload<T>(codec: Codec<T>, value: T): Buffer {
  const w = new XdrWriter();
  codec.encode(w, value);
  return w.toBuffer();
}

/** Decodes a payload; bytes left after the value are ignored, as libvirt ignores them. */
export function decodePayload<T>(codec: Codec<T>, payload: Buffer): T {
  return codec.decode(new XdrReader(payload));
}
