/**
 * The RPC programs snapvirt speaks (libvirt's REMOTE, QEMU, KEEPALIVE, and its own SNAPVIRT), their procedures by number,
 * and decoding a message's payload by what its header says it carries.
 */
import { KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION, keepaliveProcedures } from './generated/keepalive-protocol.js';
import { QEMU_PROGRAM, QEMU_PROTOCOL_VERSION, qemuProcedures } from './generated/qemu-protocol.js';
import { REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, remote_error, remoteProcedures, type RemoteError } from './generated/remote-protocol.js';
import { MessageStatus, MessageType, decodePayload, type RpcMessage } from './message.js';
import type { ProcedureSpec } from './procedure-spec.js';
import { SNAPVIRT_PROGRAM, SNAPVIRT_PROTOCOL_VERSION, snapvirtProcedures } from './generated/snapvirt-protocol.js';

export interface RpcProgram {
  readonly name: string;
  readonly prog: number;
  readonly version: number;
  readonly procedures: ReadonlyMap<number, ProcedureSpec>;
}

function program(name: string, prog: number, version: number, table: Record<string, ProcedureSpec>): RpcProgram {
  return { name, prog, version, procedures: new Map(Object.values(table).map((p) => [p.num, p])) };
}

export const REMOTE = program('REMOTE', REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION, remoteProcedures);
export const QEMU = program('QEMU', QEMU_PROGRAM, QEMU_PROTOCOL_VERSION, qemuProcedures);
export const KEEPALIVE = program('KEEPALIVE', KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION, keepaliveProcedures);
/** snapvirt's own program (snapvirt_protocol.x): the calls and events libvirt's protocol has no procedure for. */
export const SNAPVIRT = program('SNAPVIRT', SNAPVIRT_PROGRAM, SNAPVIRT_PROTOCOL_VERSION, snapvirtProcedures);

export const PROGRAMS: ReadonlyMap<number, RpcProgram> = new Map([REMOTE, QEMU, KEEPALIVE, SNAPVIRT].map((p) => [p.prog, p]));

/** The spec of procedure `proc` of program `prog`, if snapvirt knows it. */
export function procedureOf(prog: number, proc: number): ProcedureSpec | undefined {
  return PROGRAMS.get(prog)?.procedures.get(proc);
}

/** What a message's payload is, decoded: call args, reply ret, a reply's error, or an event message. */
export type DecodedBody =
  | { kind: 'args' | 'ret' | 'msg'; spec: ProcedureSpec; value: unknown }
  | { kind: 'error'; value: RemoteError }
  | { kind: 'unknown' };

/** Decodes `m`'s payload by its header; throws XdrError when the bytes do not match. */
export function decodeBody(m: RpcMessage): DecodedBody {
  const { type, status } = m.header;
  if ((type === MessageType.VIR_NET_REPLY || type === MessageType.VIR_NET_STREAM) && status === MessageStatus.VIR_NET_ERROR) {
    return { kind: 'error', value: decodePayload(remote_error, m.payload) };
  }
  const spec = procedureOf(m.header.prog, m.header.proc);
  if (!spec) return { kind: 'unknown' };
  switch (type) {
    case MessageType.VIR_NET_CALL: return { kind: 'args', spec, value: decodePayload(spec.args, m.payload) };
    case MessageType.VIR_NET_REPLY: return { kind: 'ret', spec, value: decodePayload(spec.ret, m.payload) };
    case MessageType.VIR_NET_MESSAGE: return { kind: 'msg', spec, value: decodePayload(spec.msg, m.payload) };
    default: return { kind: 'unknown' };
  }
}
