/**
 * Turns one incoming frame into the daemon's answer, as libvirtd's dispatch does:
 * keepalive PING → PONG; a CALL of a known procedure → its handler through the public API,
 * the reply its ret or the remote_error of the VirError it threw; an unknown program,
 * version or procedure, or arguments that do not decode → libvirtd's error reply, the
 * connection kept. Anything that is not a call or keepalive is a protocol violation: the
 * caller closes that connection.
 */
import { isVirError, virError, VirError, VirErrorCode } from '../api/errors.js';
import { KeepaliveProcedure } from '../rpc/generated/keepalive-protocol.js';
import { remote_error } from '../rpc/generated/remote-protocol.js';
import { decodePayload, encodeFrame, encodePayload, MessageStatus, MessageType, type MessageHeader, type RpcMessage } from '../rpc/message.js';
import type { ProcedureSpec } from '../rpc/procedure-spec.js';
import { KEEPALIVE, PROGRAMS } from '../rpc/programs.js';
import { remoteErrorOf } from '../rpc/remote-error.js';
import { XdrError } from '../rpc/xdr-error.js';
import { VIR_FROM_RPC, type ClientSession } from './client-session.js';
import type { Handler } from './handler-types.js';
import { UNSERVED_QEMU_FUNCTIONS, UNSERVED_REMOTE_FUNCTIONS, unservedErrorDomain } from './unserved-procedures.js';

/** VIR_ERR_RPC: libvirtd's code for errors of the protocol itself. */
const VIR_ERR_RPC = 39 as VirErrorCode;

/** The highest REMOTE procedure number libvirt 9.0 knows (measured: libvirtd 9.0 answers 444 with "unknown procedure"). */
export const LIBVIRT_9_0_LAST_REMOTE_PROC = 443;

/** Handlers by program number, then by libvirt procedure name. */
export type HandlerTable = ReadonlyMap<number, Readonly<Record<string, Handler<ProcedureSpec> | undefined>>>;

export class Dispatcher {
  constructor(
    private readonly handlers: HandlerTable,
    private readonly log: (line: string) => void,
  ) {}

  /** Answers `m` from `session`; throws XdrError for a message the connection must be closed for. */
  async dispatch(session: ClientSession, m: RpcMessage): Promise<void> {
    const h = m.header;
    if (h.prog === KEEPALIVE.prog) {
      if (h.type !== MessageType.VIR_NET_MESSAGE) throw new XdrError(`keepalive message of type ${h.type}`);
      if (h.proc === KeepaliveProcedure.KEEPALIVE_PROC_PING) {
        session.send(encodeFrame({ ...h, proc: KeepaliveProcedure.KEEPALIVE_PROC_PONG, serial: 0, status: MessageStatus.VIR_NET_OK }, Buffer.alloc(0)));
      }
      return;
    }
    if (h.type !== MessageType.VIR_NET_CALL) throw new XdrError(`unexpected message type ${h.type} from a client (only calls and keepalives)`);
    if (h.status !== MessageStatus.VIR_NET_OK) throw new XdrError(`call with status ${h.status}`);
    const program = PROGRAMS.get(h.prog);
    if (!program || program.version !== h.vers || program === KEEPALIVE) {
      this.#replyError(session, h, virError(VIR_ERR_RPC, VIR_FROM_RPC, `Cannot find program ${h.prog} version ${h.vers}`));
      return;
    }
    const spec = program.procedures.get(h.proc);
    const handler = spec ? this.handlers.get(h.prog)?.[spec.name] : undefined;
    if (!spec || !handler) {
      this.log(`client ${session.id}: ${spec?.name ?? `${program.name} procedure ${h.proc}`} is not served; answered with an error`);
      this.#replyError(session, h, this.#unsupported(program.name, h.proc, spec));
      return;
    }
    let args: unknown;
    try {
      args = decodePayload(spec.args, m.payload);
    } catch (err) {
      if (!(err instanceof XdrError)) throw err;
      this.log(`client ${session.id}: ${spec.name}: arguments do not decode (${err.message}); answered with an error`);
      this.#replyError(session, h, virError(VIR_ERR_RPC, VIR_FROM_RPC, 'Unable to decode message payload'));
      return;
    }
    let payload: Buffer;
    try {
      payload = encodePayload(spec.ret, await handler(session, args as never));
    } catch (err) {
      this.#replyError(session, h, this.#asVirError(session, spec.name, err));
      return;
    }
    session.send(encodeFrame({ ...h, type: MessageType.VIR_NET_REPLY, status: MessageStatus.VIR_NET_OK }, payload));
  }

  /** Answers a call with an RPC error without running it (the daemon is stopping); keepalives are still answered. */
  refuse(session: ClientSession, h: MessageHeader, why: string): void {
    if (h.type === MessageType.VIR_NET_CALL) this.#replyError(session, h, virError(VIR_ERR_RPC, VIR_FROM_RPC, why));
  }

  /** What libvirtd answers for a procedure it has no code for. */
  #unsupported(programName: string, proc: number, spec: ProcedureSpec | undefined): VirError {
    if ((programName === 'REMOTE' && (proc < 1 || proc > LIBVIRT_9_0_LAST_REMOTE_PROC)) || (programName === 'SNAPVIRT' && !spec)) {
      return virError(VIR_ERR_RPC, VIR_FROM_RPC, `unknown procedure: ${proc}`);
    }
    // snapvirt's own program serves every call it defines; its event procedure is not a call.
    if (programName === 'SNAPVIRT') return virError(VIR_ERR_RPC, VIR_FROM_RPC, `${spec?.name ?? proc} is an event, not a call`);
    // A procedure libvirt has and snapvirt does not serve: what a libvirt driver without that function says.
    const functions = programName === 'QEMU' ? UNSERVED_QEMU_FUNCTIONS : UNSERVED_REMOTE_FUNCTIONS;
    return virError(VirErrorCode.NO_SUPPORT, unservedErrorDomain(programName), functions[proc] ?? spec?.name ?? `${programName.toLowerCase()} procedure ${proc}`);
  }

  #asVirError(session: ClientSession, procName: string, err: unknown): VirError {
    if (isVirError(err)) return err;
    // Only to log a stack for whatever was thrown; the client gets a VirError, never this.
    const e = err instanceof Error ? err : new Error(String(err));
    this.log(`client ${session.id}: ${procName} failed: ${e.stack ?? e.message}`);
    return virError(VirErrorCode.INTERNAL_ERROR, VIR_FROM_RPC, e.message);
  }

  #replyError(session: ClientSession, h: MessageHeader, err: VirError): void {
    const payload = encodePayload(remote_error, remoteErrorOf(err));
    session.send(encodeFrame({ ...h, type: MessageType.VIR_NET_REPLY, status: MessageStatus.VIR_NET_ERROR }, payload));
  }
}
