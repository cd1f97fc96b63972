/**
 * A bare RPC client for protocol tests of snapvirtd: raw frames in and out over the
 * codec of src/rpc, calls matched to replies by serial, and the socket's end observable.
 * (Not snapvirt's remote driver: it sends whatever a test asks, malformed or not.)
 */
import { createConnection, type Socket } from 'node:net';
import { FrameSplitter } from '../../src/rpc/frame-splitter.js';
import { remote_error, remoteProcedures, REMOTE_PROGRAM, type RemoteError } from '../../src/rpc/generated/remote-protocol.js';
import { decodeFrame, decodePayload, encodeFrame, encodePayload, type RpcMessage } from '../../src/rpc/message.js';
import type { ArgsOf, ProcedureSpec, RetOf } from '../../src/rpc/procedure-spec.js';

export class RpcTestClient {
  readonly #socket: Socket;
  readonly #splitter = new FrameSplitter();
  readonly #waiting = new Map<number, (m: RpcMessage) => void>();
  readonly messages: RpcMessage[] = [];
  #serial = 1;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.#splitter.push(chunk)) {
        const m = decodeFrame(frame);
        const waiter = m.header.type === 1 ? this.#waiting.get(m.header.serial) : undefined;
        if (waiter) { this.#waiting.delete(m.header.serial); waiter(m); } else this.messages.push(m);
      }
    });
  }

  static connect(path: string): Promise<RpcTestClient> {
    return new Promise((resolve, reject) => {
      const s = createConnection(path);
      s.once('connect', () => resolve(new RpcTestClient(s)));
      s.once('error', reject);
    });
  }

  /** Sends raw bytes. */
  write(bytes: Buffer): void { this.#socket.write(bytes); }
  end(): void { this.#socket.end(); }

  /** Sends a CALL with a raw payload; resolves with the reply. */
  rawCall(prog: number, proc: number, payload: Buffer, vers = 1): Promise<RpcMessage> {
    const serial = this.#serial++;
    const reply = new Promise<RpcMessage>((resolve) => this.#waiting.set(serial, resolve));
    this.#socket.write(encodeFrame({ prog, vers, proc, type: 0, serial, status: 0 }, payload));
    return reply;
  }

  /** Calls a procedure of the REMOTE program; resolves with its ret, or rejects with the remote_error. */
  async call<P extends ProcedureSpec>(spec: P, args: ArgsOf<P>, prog = REMOTE_PROGRAM): Promise<RetOf<P>> {
    const m = await this.rawCall(prog, spec.num, encodePayload(spec.args as ProcedureSpec<ArgsOf<P>>['args'], args));
    if (m.header.status === 1) throw Object.assign(new Error(errorOf(m).message ?? ''), { remote: errorOf(m) });
    return decodePayload(spec.ret, m.payload) as RetOf<P>;
  }

  /** AUTH_LIST then CONNECT_OPEN of `uri`. */
  async open(uri: string, flags = 0): Promise<void> {
    await this.call(remoteProcedures.REMOTE_PROC_AUTH_LIST, null);
    await this.call(remoteProcedures.REMOTE_PROC_CONNECT_OPEN, { name: uri, flags });
  }
}

/** The remote_error of an error reply. */
export function errorOf(m: RpcMessage): RemoteError {
  return decodePayload(remote_error, m.payload);
}
