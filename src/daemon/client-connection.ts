/**
 * One client's socket: frames in (FrameSplitter), each dispatched as it completes (calls
 * run concurrently), answers out. A frame that cannot be read (a bad length, a header that
 * does not decode, a message that is not a call) closes this connection only, with one
 * log line. When the socket goes, the client's connection is closed once its running calls
 * have finished.
 */
import type { Socket } from 'node:net';
import { FrameSplitter } from '../rpc/frame-splitter.js';
import { decodeFrame } from '../rpc/message.js';
import { XdrError } from '../rpc/xdr-error.js';
import { ClientSession } from './client-session.js';
import type { Dispatcher } from './dispatcher.js';

export interface ConnectionHooks {
  log(line: string): void;
  /** Whether new calls are refused (the daemon is stopping): they get an error reply. */
  draining(): boolean;
  callStarted(): void;
  callEnded(): void;
  /** The client is gone and its connection closed. */
  closed(conn: ClientConnection): void;
}

export class ClientConnection {
  readonly session: ClientSession;
  readonly #socket: Socket;
  readonly #splitter = new FrameSplitter();
  readonly #running = new Set<Promise<void>>();
  #closing = false;
  #finished!: () => void;
  /** Resolves once the socket is gone and the client's connection closed. */
  readonly finished = new Promise<void>((resolve) => { this.#finished = resolve; });

  constructor(id: number, socket: Socket, readOnly: boolean, private readonly dispatcher: Dispatcher, private readonly hooks: ConnectionHooks) {
    this.#socket = socket;
    this.session = new ClientSession(id, readOnly, (frame) => { if (!socket.destroyed) socket.write(frame); });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => { void this.#finish(); });
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    let frames: Buffer[];
    try {
      frames = this.#splitter.push(chunk);
      for (const frame of frames) this.#start(decodeFrame(frame));
    } catch (err) {
      this.#protocolError(err);
    }
  }

  #start(message: ReturnType<typeof decodeFrame>): void {
    if (this.hooks.draining()) {
      this.dispatcher.refuse(this.session, message.header, 'the daemon is stopping and takes no new calls');
      return;
    }
    this.hooks.callStarted();
    const call = this.dispatcher.dispatch(this.session, message)
      .catch((err: unknown) => this.#protocolError(err))
      .finally(() => { this.#running.delete(call); this.hooks.callEnded(); });
    this.#running.add(call);
  }

  #protocolError(err: unknown): void {
    if (this.#closing) return;
    const why = err instanceof XdrError ? err.message : `internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`;
    this.hooks.log(`client ${this.session.id}: closed: ${why}`);
    this.close();
  }

  /** Ends the client's socket (its running calls still finish before its connection is closed). */
  close(): void {
    this.#closing = true;
    this.#socket.destroy();
  }

  async #finish(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([...this.#running]);
    await this.session.close().catch((err: unknown) => this.hooks.log(`client ${this.session.id}: closing its connection failed: ${String(err)}`));
    this.hooks.closed(this);
    this.#finished();
  }
}
