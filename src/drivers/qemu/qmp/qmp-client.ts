/**
 * Our QMP client: one unix-socket connection to a QEMU monitor. It reads the greeting,
 * negotiates capabilities, correlates replies to commands by id, delivers asynchronous
 * events to listeners, iterators and waiters, and rejects every pending command when the
 * socket closes, so no caller waits forever on a QEMU that died.
 */
import { createConnection, type Socket } from 'node:net';
import { QmpLineDecoder } from './qmp-framing.js';
import {
  QmpDisconnectedError, QmpError, QmpJobError, QmpProtocolError, QmpTimeoutError,
} from './qmp-errors.js';
import { expectArray, isJsonObject, optionalString, type JsonObject } from './qmp-json.js';

/** An asynchronous QMP event, e.g. `{event: "STOP", data: {}, timestamp}`. */
export interface QmpEvent {
  event: string;
  data: JsonObject;
  timestamp: { seconds: number; microseconds: number };
}

/** The parsed `{"QMP": …}` greeting. */
export interface QmpGreeting {
  version: { major: number; minor: number; micro: number };
  package: string;
  capabilities: string[];
}

/** Options for {@link QmpClient.connect}. */
export interface QmpConnectOptions {
  /** Bound on connect + greeting + qmp_capabilities; default 10 s. */
  timeoutMs?: number;
  /** Default per-command timeout; default 60 s. */
  commandTimeoutMs?: number;
}

/** Options for one command. */
export interface QmpExecuteOptions {
  /** Reject with QmpTimeoutError after this long; the reply, if it comes later, is dropped. */
  timeoutMs?: number;
}

interface PendingCommand {
  command: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

type EventListener = (ev: QmpEvent) => void;
type CloseListener = (reason: string) => void;

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;

/** A connected, capability-negotiated QMP monitor. Create with {@link QmpClient.connect}. */
export class QmpClient {
  private readonly decoder = new QmpLineDecoder();
  private readonly pending = new Map<string, PendingCommand>();
  private readonly eventListeners = new Set<EventListener>();
  private readonly closeListeners = new Set<CloseListener>();
  private nextId = 1;
  private closeReason: string | undefined;
  private greetingWaiter: { resolve(g: QmpGreeting): void; reject(e: Error): void } | undefined;
  private greetingValue: QmpGreeting | undefined;
  private readonly commandTimeoutMs: number;

  private constructor(private readonly socket: Socket, commandTimeoutMs: number) {
    this.commandTimeoutMs = commandTimeoutMs;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.onClosed(err.message));
    socket.on('close', () => this.onClosed('socket closed'));
  }

  /** Connects to the monitor socket at `socketPath`, reads the greeting and enters command mode. */
  static async connect(socketPath: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ path: socketPath });
      const timer = setTimeout(() => { s.destroy(); reject(new QmpTimeoutError('connect', timeoutMs)); }, timeoutMs);
      s.once('connect', () => { clearTimeout(timer); s.removeAllListeners('error'); resolve(s); });
      s.once('error', (err) => { clearTimeout(timer); s.destroy(); reject(err); });
    });
    const client = new QmpClient(socket, opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
    try {
      await client.waitGreeting(timeoutMs);
      await client.execute('qmp_capabilities', undefined, { timeoutMs });
    } catch (err) {
      client.destroy('handshake failed');
      throw err;
    }
    return client;
  }

  /** The greeting QEMU sent on connect (its version). */
  get greeting(): QmpGreeting {
    if (!this.greetingValue) throw new QmpProtocolError('no greeting received');
    return this.greetingValue;
  }

  /** True once the connection is closed; every later command fails with QmpDisconnectedError. */
  get isClosed(): boolean {
    return this.closeReason !== undefined;
  }

  /**
   * Runs one QMP command and resolves with its `return` value (typed unknown: narrow it).
   * Rejects with QmpError when QEMU reports an error, QmpTimeoutError, or QmpDisconnectedError.
   */
  execute(command: string, args?: JsonObject, opts: QmpExecuteOptions = {}): Promise<unknown> {
    if (this.closeReason !== undefined) {
      return Promise.reject(new QmpDisconnectedError(command, this.closeReason));
    }
    const id = `snapvirt-${this.nextId++}`;
    const timeoutMs = opts.timeoutMs ?? this.commandTimeoutMs;
    return new Promise<unknown>((resolve, reject) => {
      const entry: PendingCommand = { command, resolve, reject, timer: undefined };
      entry.timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpTimeoutError(command, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, entry);
      const msg: JsonObject = { execute: command, id };
      if (args !== undefined) msg.arguments = args;
      this.socket.write(JSON.stringify(msg) + '\n');
    });
  }

  /** Calls `listener` for every event until the returned function is called. */
  onEvent(listener: EventListener): () => void {
    this.eventListeners.add(listener);
    return () => { this.eventListeners.delete(listener); };
  }

  /** Calls `listener` once when the connection closes (immediately if it already has). */
  onClose(listener: CloseListener): () => void {
    if (this.closeReason !== undefined) {
      listener(this.closeReason);
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => { this.closeListeners.delete(listener); };
  }

  /**
   * Events as an async iterator, from now until the connection closes or the loop breaks.
   * Events are buffered between `next()` calls, so none is lost while the consumer awaits.
   */
  events(): AsyncIterableIterator<QmpEvent> {
    const queue: QmpEvent[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const stop = (): void => {
      done = true;
      offEvent();
      offClose();
      wake?.();
    };
    const offEvent = this.onEvent((ev) => { queue.push(ev); wake?.(); });
    const offClose = this.onClose(() => { done = true; wake?.(); });
    const iterator: AsyncIterableIterator<QmpEvent> = {
      next: async (): Promise<IteratorResult<QmpEvent>> => {
        while (queue.length === 0 && !done) {
          await new Promise<void>((r) => { wake = r; });
          wake = undefined;
        }
        const ev = queue.shift();
        if (ev !== undefined) return { value: ev, done: false };
        stop();
        return { value: undefined, done: true };
      },
      return: async (): Promise<IteratorResult<QmpEvent>> => {
        stop();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() { return iterator; },
    };
    return iterator;
  }

  /**
   * Resolves with the first event matching `predicate` that arrives after this call.
   * Call it BEFORE the command that triggers the event, then await it.
   */
  waitForEvent(predicate: (ev: QmpEvent) => boolean, timeoutMs: number): Promise<QmpEvent> {
    return new Promise<QmpEvent>((resolve, reject) => {
      const finish = (): void => { clearTimeout(timer); offEvent(); offClose(); };
      const timer = setTimeout(() => { finish(); reject(new QmpTimeoutError('waitForEvent', timeoutMs)); }, timeoutMs);
      const offEvent = this.onEvent((ev) => {
        let matched = false;
        // A caller's predicate threw: its own error goes back to it (a non-Error value wrapped).
        try { matched = predicate(ev); } catch (err) { finish(); reject(err instanceof Error ? err : new Error(String(err))); return; }
        if (matched) { finish(); resolve(ev); }
      });
      const offClose = this.onClose((reason) => { finish(); reject(new QmpDisconnectedError(undefined, reason)); });
    });
  }

  /**
   * Runs a job-starting command (blockdev-create, snapshot-save…) to its end: waits for its
   * JOB_STATUS_CHANGE to `concluded`, reads the job's error from query-jobs (job failures
   * are not QMP errors), dismisses it, and throws QmpJobError if it failed.
   */
  async runJob(command: string, args: JsonObject & { 'job-id': string }, opts: QmpExecuteOptions = {}): Promise<void> {
    const jobId = args['job-id'];
    const timeoutMs = opts.timeoutMs ?? this.commandTimeoutMs;
    const concluded = this.waitForEvent(
      (ev) => ev.event === 'JOB_STATUS_CHANGE' && ev.data.id === jobId && ev.data.status === 'concluded',
      timeoutMs,
    );
    // If the command itself fails, no event will come: keep the waiter from surfacing later.
    concluded.catch(() => undefined);
    await this.execute(command, args, opts);
    await concluded;
    const jobs = expectArray(await this.execute('query-jobs', undefined, opts), 'query-jobs');
    const job = jobs.find((j) => isJsonObject(j) && j.id === jobId);
    const error = isJsonObject(job) ? optionalString(job, 'error') : undefined;
    const jobType = isJsonObject(job) ? optionalString(job, 'type') ?? command : command;
    await this.execute('job-dismiss', { id: jobId }, opts);
    if (error !== undefined) throw new QmpJobError(jobId, jobType, error);
  }

  /** Closes the connection; pending commands are rejected with QmpDisconnectedError. */
  async close(): Promise<void> {
    if (this.closeReason !== undefined) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      // A peer that never closes its side must not hold us: destroy after a short grace.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    });
    this.onClosed('closed by client');
  }

  /** Drops the connection at once (no graceful end). */
  destroy(reason = 'destroyed by client'): void {
    this.socket.destroy();
    this.onClosed(reason);
  }

  private waitGreeting(timeoutMs: number): Promise<QmpGreeting> {
    if (this.greetingValue) return Promise.resolve(this.greetingValue);
    return new Promise<QmpGreeting>((resolve, reject) => {
      const timer = setTimeout(() => { this.greetingWaiter = undefined; reject(new QmpTimeoutError('greeting', timeoutMs)); }, timeoutMs);
      this.greetingWaiter = {
        resolve: (g) => { clearTimeout(timer); resolve(g); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
    });
  }

  private onData(chunk: Buffer): void {
    for (const line of this.decoder.push(chunk)) {
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        this.protocolFailure(`not JSON: ${line.slice(0, 200)}`);
        return;
      }
      this.dispatch(msg);
    }
  }

  private dispatch(msg: unknown): void {
    if (!isJsonObject(msg)) {
      this.protocolFailure('message is not an object');
      return;
    }
    if (this.greetingValue === undefined) {
      const greeting = parseGreeting(msg);
      if (!greeting) {
        this.protocolFailure('first message is not a QMP greeting');
        return;
      }
      this.greetingValue = greeting;
      this.greetingWaiter?.resolve(greeting);
      this.greetingWaiter = undefined;
      return;
    }
    if (typeof msg.event === 'string') {
      this.emitEvent(msg);
      return;
    }
    const id = msg.id;
    // Replies without our id (e.g. to a line QEMU could not parse) cannot be matched: drop them.
    if (typeof id !== 'string') return;
    const entry = this.pending.get(id);
    if (!entry) return; // timed out earlier
    this.pending.delete(id);
    clearTimeout(entry.timer);
    if ('return' in msg) {
      entry.resolve(msg.return);
    } else if (isJsonObject(msg.error)) {
      const cls = optionalString(msg.error, 'class') ?? 'GenericError';
      const desc = optionalString(msg.error, 'desc') ?? '';
      entry.reject(new QmpError(entry.command, cls, desc));
    } else {
      entry.reject(new QmpProtocolError(`reply to '${entry.command}' has neither return nor error`));
    }
  }

  private emitEvent(msg: JsonObject): void {
    const ts = isJsonObject(msg.timestamp) ? msg.timestamp : {};
    const ev: QmpEvent = {
      event: String(msg.event),
      data: isJsonObject(msg.data) ? msg.data : {},
      timestamp: {
        seconds: typeof ts.seconds === 'number' ? ts.seconds : 0,
        microseconds: typeof ts.microseconds === 'number' ? ts.microseconds : 0,
      },
    };
    for (const listener of [...this.eventListeners]) {
      try {
        listener(ev);
      } catch {
        // A faulty listener must not stop replies from being delivered to everyone else.
      }
    }
  }

  private protocolFailure(reason: string): void {
    const err = new QmpProtocolError(reason);
    this.greetingWaiter?.reject(err);
    this.greetingWaiter = undefined;
    this.destroy(`protocol error: ${reason}`);
  }

  private onClosed(reason: string): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    this.socket.destroy();
    this.greetingWaiter?.reject(new QmpDisconnectedError('greeting', reason));
    this.greetingWaiter = undefined;
    for (const [id, entry] of this.pending) {
      this.pending.delete(id);
      clearTimeout(entry.timer);
      entry.reject(new QmpDisconnectedError(entry.command, reason));
    }
    for (const listener of [...this.closeListeners]) {
      try { listener(reason); } catch { /* see emitEvent */ }
    }
    this.closeListeners.clear();
  }
}

/** Parses `{"QMP":{"version":{"qemu":{major,minor,micro},"package"},"capabilities":[…]}}`. */
function parseGreeting(msg: JsonObject): QmpGreeting | undefined {
  const qmp = msg.QMP;
  if (!isJsonObject(qmp)) return undefined;
  const version = isJsonObject(qmp.version) ? qmp.version : {};
  const qemu = isJsonObject(version.qemu) ? version.qemu : {};
  const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
  return {
    version: { major: num(qemu.major), minor: num(qemu.minor), micro: num(qemu.micro) },
    package: typeof version.package === 'string' ? version.package : '',
    capabilities: Array.isArray(qmp.capabilities) ? qmp.capabilities.filter((c): c is string => typeof c === 'string') : [],
  };
}
