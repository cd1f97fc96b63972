/**
 * The daemon's listening side: a read-write and a read-only unix socket, the clients of
 * both, the limit on clients, the idle timeout, and the orderly stop (SIGTERM): stop
 * listening, answer new calls with an error, let running calls finish, close every client,
 * remove the sockets.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { ClientConnection } from './client-connection.js';
import type { ClientSession } from './client-session.js';
import type { Dispatcher } from './dispatcher.js';
import { listenUnix } from './unix-socket.js';

export interface RpcServerOptions {
  socketPath: string;
  readOnlySocketPath: string;
  /** File mode of the read-write and read-only sockets. */
  socketMode: number;
  readOnlySocketMode: number;
  maxClients: number;
  /** Seconds without clients and calls after which the daemon stops by itself (0: never). */
  idleTimeout: number;
  log(line: string): void;
}

export class RpcServer {
  readonly #clients = new Set<ClientConnection>();
  readonly #servers: Server[] = [];
  #nextId = 1;
  #calls = 0;
  #draining = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #stopped: Promise<void> | undefined;
  readonly #onIdle: () => void;

  constructor(private readonly dispatcher: Dispatcher, private readonly options: RpcServerOptions, onIdle: () => void) {
    this.#onIdle = onIdle;
  }

  /** Every client's session (events go to them). */
  *sessions(): Iterable<ClientSession> {
    for (const c of this.#clients) yield c.session;
  }

  /** Listens on both sockets. */
  async start(): Promise<void> {
    const o = this.options;
    this.#servers.push(await listenUnix(createServer((s) => this.#accept(s, false)), o.socketPath, o.socketMode));
    this.#servers.push(await listenUnix(createServer((s) => this.#accept(s, true)), o.readOnlySocketPath, o.readOnlySocketMode));
    this.#armIdle();
  }

  #accept(socket: Socket, readOnly: boolean): void {
    if (this.#draining) { socket.destroy(); return; }
    const id = this.#nextId++;
    if (this.#clients.size >= this.options.maxClients) {
      this.options.log(`client ${id}: refused: ${this.#clients.size} clients already connected (--max-clients ${this.options.maxClients})`);
      socket.destroy();
      return;
    }
    clearTimeout(this.#idleTimer);
    const conn = new ClientConnection(id, socket, readOnly, this.dispatcher, {
      log: this.options.log,
      draining: () => this.#draining,
      callStarted: () => { this.#calls++; },
      callEnded: () => { this.#calls--; this.#settle(); },
      closed: (c) => { this.#clients.delete(c); this.#settle(); },
    });
    this.#clients.add(conn);
  }

  #armIdle(): void {
    clearTimeout(this.#idleTimer);
    if (this.options.idleTimeout > 0 && !this.#draining) {
      this.#idleTimer = setTimeout(() => this.#onIdle(), this.options.idleTimeout * 1000);
    }
  }

  #drained: (() => void) | undefined;

  #settle(): void {
    if (this.#clients.size === 0 && this.#calls === 0) this.#armIdle();
    if (this.#draining && this.#calls === 0) this.#drained?.();
  }

  /** Stops: no new clients or calls, running calls finish, then every client is closed. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#draining = true;
      clearTimeout(this.#idleTimer);
      // net.Server.close() reports only once every connection has ended: start it now, wait for it last.
      const listenersClosed = Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      if (this.#calls > 0) await new Promise<void>((r) => { this.#drained = r; });
      const clients = [...this.#clients];
      for (const c of clients) c.close();
      await Promise.all(clients.map((c) => c.finished));
      await listenersClosed;
    })();
    return this.#stopped;
  }
}
