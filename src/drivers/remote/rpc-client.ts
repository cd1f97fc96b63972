/**
 * The client side of libvirt's RPC protocol over one Wire, as virNetClient runs it: calls
 * carry a serial and wait for the REPLY with that serial (several may be in flight), a
 * reply with status ERROR becomes the VirError its remote_error describes, keepalive PINGs
 * are answered with PONGs, and events (VIR_NET_MESSAGE) go to a listener. When the far
 * side goes away, every waiting call fails with libvirt's "End of file while reading data"
 * (a system error of the RPC subsystem) and every later call with "client socket is
 * closed".
 */
import { virError, VirErrorCode, VirErrorDomain, type VirError } from '../../api/errors.js';
import { strerror } from '../../api/errno-text.js';
import { remote_error } from '../../rpc/generated/remote-protocol.js';
import { KeepaliveProcedure } from '../../rpc/generated/keepalive-protocol.js';
import { FrameSplitter } from '../../rpc/frame-splitter.js';
import { decodeFrame, decodePayload, encodeFrame, encodePayload, MessageStatus, MessageType, type RpcMessage } from '../../rpc/message.js';
import type { ProcedureSpec } from '../../rpc/procedure-spec.js';
import { KEEPALIVE, type RpcProgram } from '../../rpc/programs.js';
import { virErrorOf } from '../../rpc/remote-error.js';
import { XdrError } from '../../rpc/xdr-error.js';
import type { Wire } from './wire.js';

/** virsh's keepalive: a PING after 5 s without a message from the daemon; the connection is dead after 6 unanswered. */
export const KEEPALIVE_INTERVAL_MS = 5000;
export const KEEPALIVE_COUNT = 6;

interface Pending {
  spec: ProcedureSpec;
  resolve(value: unknown): void;
  reject(err: VirError): void;
}

/** An event message: its program, procedure and still-encoded payload. */
export type EventListener = (message: RpcMessage) => void;

export class RpcClient {
  readonly #wire: Wire;
  readonly #splitter = new FrameSplitter();
  readonly #pending = new Map<number, Pending>();
  #serial = 0;
  #closedBy: VirError | undefined;
  readonly #eventListeners: EventListener[] = [];
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #unanswered = 0;
  #heardAt = Date.now();
  /** Reasons besides waiting calls to keep Node running (event registrations). */
  #holds = 0;

  constructor(wire: Wire) {
    this.#wire = wire;
    wire.unref();
    wire.onData((chunk) => this.#onData(chunk));
    wire.onEnd((errno) => this.#onEnd(errno));
  }

  /** Whether the connection to the daemon is gone. */
  get closed(): boolean { return this.#closedBy !== undefined; }

  /** Sends events to `listener`. */
  onEvent(listener: EventListener): void { this.#eventListeners.push(listener); }

  /** Keeps Node running while something waits for events (each hold() needs a release()). */
  hold(): void {
    this.#holds++;
    this.#wire.ref();
  }

  release(): void {
    this.#holds = Math.max(0, this.#holds - 1);
    this.#idleUnref();
  }

  /** Lets Node exit when nothing waits: no call in flight, no hold. */
  #idleUnref(): void {
    if (this.#pending.size === 0 && this.#holds === 0) this.#wire.unref();
  }

  /** Calls `spec` of `program` with `args`; resolves with its decoded reply. */
  call<A, R>(program: RpcProgram, spec: ProcedureSpec<A, R, unknown>, args: A): Promise<R> {
    if (this.#closedBy) return Promise.reject(virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.RPC, 'client socket is closed'));
    const serial = ++this.#serial;
    let frame: Buffer;
    try {
      frame = encodeFrame(
        { prog: program.prog, vers: program.version, proc: spec.num, type: MessageType.VIR_NET_CALL, serial, status: MessageStatus.VIR_NET_OK },
        encodePayload(spec.args, args),
      );
    } catch (err) {
      // Arguments past the protocol's limits (a string over 4 MiB, a frame over 32 MiB) are
      // refused before anything is sent, as virNetMessageEncodePayload refuses them.
      if (err instanceof XdrError) return Promise.reject(virError(VirErrorCode.RPC, VirErrorDomain.RPC, 'Unable to encode message payload'));
      throw err;
    }
    return new Promise<R>((resolve, reject) => {
      this.#pending.set(serial, { spec, resolve: (v) => resolve(v as R), reject });
      // A call waiting for its reply keeps the program alive; an idle connection does not.
      if (this.#pending.size === 1) this.#wire.ref();
      this.#wire.write(frame);
    });
  }

  /** Starts sending keepalive PINGs (once the daemon said it speaks the keepalive program). */
  startKeepalive(intervalMs = KEEPALIVE_INTERVAL_MS, count = KEEPALIVE_COUNT): void {
    if (this.#keepalive || this.#closedBy) return;
    this.#keepalive = setInterval(() => {
      if (Date.now() - this.#heardAt < intervalMs) return;
      if (this.#unanswered >= count) {
        this.#shutDown(virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.RPC, 'connection closed due to keepalive timeout'));
        return;
      }
      this.#unanswered++;
      this.#sendKeepalive(KeepaliveProcedure.KEEPALIVE_PROC_PING);
    }, intervalMs);
    this.#keepalive.unref();
  }

  /** Closes the wire; calls still waiting fail as closed. */
  close(): void {
    this.#shutDown(virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.RPC, 'client socket is closed'));
  }

  #sendKeepalive(proc: number): void {
    this.#wire.write(encodeFrame(
      { prog: KEEPALIVE.prog, vers: KEEPALIVE.version, proc, type: MessageType.VIR_NET_MESSAGE, serial: 0, status: MessageStatus.VIR_NET_OK },
      Buffer.alloc(0),
    ));
  }

  #onData(chunk: Buffer): void {
    if (this.#closedBy) return;
    this.#heardAt = Date.now();
    this.#unanswered = 0;
    try {
      for (const frame of this.#splitter.push(chunk)) this.#onMessage(decodeFrame(frame));
    } catch (err) {
      const why = err instanceof XdrError ? err.message : String(err);
      this.#shutDown(virError(VirErrorCode.RPC, VirErrorDomain.RPC, `Unable to decode message from the daemon: ${why}`));
    }
  }

  #onMessage(m: RpcMessage): void {
    const h = m.header;
    if (h.prog === KEEPALIVE.prog) {
      if (h.proc === KeepaliveProcedure.KEEPALIVE_PROC_PING) this.#sendKeepalive(KeepaliveProcedure.KEEPALIVE_PROC_PONG);
      return;
    }
    if (h.type === MessageType.VIR_NET_MESSAGE) {
      for (const listener of this.#eventListeners) listener(m);
      return;
    }
    if (h.type !== MessageType.VIR_NET_REPLY) return;
    const pending = this.#pending.get(h.serial);
    if (!pending) return;
    this.#settled(h.serial);
    try {
      if (h.status === MessageStatus.VIR_NET_ERROR) pending.reject(virErrorOf(decodePayload(remote_error, m.payload)));
      else pending.resolve(decodePayload(pending.spec.ret, m.payload));
    } catch (err) {
      pending.reject(virError(VirErrorCode.RPC, VirErrorDomain.RPC, `Unable to decode message payload: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  #settled(serial: number): void {
    this.#pending.delete(serial);
    this.#idleUnref();
  }

  #onEnd(errno: string | undefined): void {
    // virNetSocketReadWire: a read error is "Cannot recv data", EOF is EIO's "End of file
    // while reading data", each with what the carrier (ssh) said before it.
    const said = this.#wire.farSideText();
    const what = errno ? 'Cannot recv data' : 'End of file while reading data';
    this.#shutDown(virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.RPC, `${what}${said ? `: ${said}` : ''}: ${strerror(errno ?? 'EIO')}`));
  }

  #shutDown(why: VirError): void {
    if (this.#closedBy) return;
    this.#closedBy = why;
    if (this.#keepalive) clearInterval(this.#keepalive);
    this.#wire.close();
    const waiting = [...this.#pending.values()];
    this.#pending.clear();
    this.#holds = 0;
    this.#wire.unref();
    for (const p of waiting) p.reject(why);
  }
}
