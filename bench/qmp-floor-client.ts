/**
 * The smallest QMP client that works: one unix socket, newline-delimited JSON, replies
 * matched by id, events ignored. It is the "floor" side of the live benchmark, so it
 * shares no code with snapvirt's own client.
 */
import { connect, type Socket } from 'node:net';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A connected, capability-negotiated QMP session. */
export class FloorQmp {
  #nextId = 1;
  #buffer = '';
  readonly #pending = new Map<string, { resolve: (v: Json) => void; reject: (e: Error) => void }>();

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) >= 0) {
        const line = this.#buffer.slice(0, nl).trim();
        this.#buffer = this.#buffer.slice(nl + 1);
        if (line.length > 0) this.#onMessage(JSON.parse(line) as { [k: string]: Json });
      }
    });
  }

  #onMessage(msg: { [k: string]: Json }): void {
    const id = typeof msg.id === 'string' ? msg.id : undefined;
    const waiter = id === undefined ? undefined : this.#pending.get(id);
    if (!waiter || id === undefined) return;
    this.#pending.delete(id);
    if ('error' in msg) waiter.reject(new Error(`QMP error: ${JSON.stringify(msg.error)}`));
    else waiter.resolve(msg.return ?? null);
  }

  /** Connects, reads the greeting and negotiates capabilities. */
  static async connect(path: string): Promise<FloorQmp> {
    const socket = connect(path);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('data', () => { socket.off('error', reject); resolve(); });
    });
    const qmp = new FloorQmp(socket);
    await qmp.execute('qmp_capabilities');
    return qmp;
  }

  /** Sends a command and resolves with its `return`. */
  execute(command: string, args?: { [k: string]: Json }): Promise<Json> {
    const id = `f${this.#nextId++}`;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.socket.write(`${JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id })}\n`);
    });
  }

  /** Closes the connection. */
  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}
