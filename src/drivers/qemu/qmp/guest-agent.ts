/**
 * A client for qemu-guest-agent over the unix socket QEMU serves for the domain's agent
 * channel. QGA has no greeting: a session starts with guest-sync-delimited (the reply is
 * preceded by a 0xFF byte, which also flushes stale bytes a previous client left in the
 * channel). Every command has a timeout, since a guest that hangs must not hang us; the
 * snapshot code thaws in a `finally`, always.
 */
import { createConnection, type Socket } from 'node:net';
import { isVirError, virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { isJsonObject } from './qmp-json.js';

function agentError(detail: string): Error {
  return virError(VirErrorCode.AGENT_UNRESPONSIVE, VirErrorDomain.QEMU, detail);
}

/** A synchronised session with the guest agent. */
export class GuestAgent {
  private buffer = '';
  private waiter: ((line: string) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      // 0xFF marks the start of the sync reply: anything before it is stale.
      const ff = chunk.lastIndexOf('\xff');
      this.buffer = ff >= 0 ? chunk.slice(ff + 1) : this.buffer + chunk;
      this.drain();
    });
    socket.on('error', () => undefined);
  }

  /** Connects and synchronises; fails with libvirt's "agent unresponsive" error after `timeoutMs`. */
  static async connect(socketPath: string, timeoutMs = 5000): Promise<GuestAgent> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ path: socketPath });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    }).catch(() => { throw agentError('QEMU guest agent is not connected'); });
    const agent = new GuestAgent(socket);
    try {
      const id = Math.floor(Math.random() * 2 ** 31);
      const reply = await agent.raw({ execute: 'guest-sync-delimited', arguments: { id } }, timeoutMs);
      if (reply !== id) throw agentError('guest agent replied with a wrong sync id');
    } catch (err) {
      agent.close();
      throw err;
    }
    return agent;
  }

  /** Runs one agent command and returns its `return` value. */
  async execute(command: string, args: Record<string, unknown> | undefined, timeoutMs: number): Promise<unknown> {
    return this.raw(args === undefined ? { execute: command } : { execute: command, arguments: args }, timeoutMs);
  }

  /**
   * A command that gives no reply when it works (guest-shutdown: the guest goes down):
   * resolves when no error reply came within `waitMs`, rejects with the agent's error.
   */
  async executeNoReply(command: string, args: Record<string, unknown>, waitMs: number): Promise<void> {
    try {
      await this.raw({ execute: command, arguments: args }, waitMs);
    } catch (err) {
      if (isVirError(err, VirErrorCode.AGENT_UNRESPONSIVE)) return;
      throw err;
    }
  }

  /** Closes the session. */
  close(): void {
    this.socket.destroy();
  }

  private drain(): void {
    const nl = this.buffer.indexOf('\n');
    if (nl < 0 || !this.waiter) return;
    const line = this.buffer.slice(0, nl);
    this.buffer = this.buffer.slice(nl + 1);
    const w = this.waiter;
    this.waiter = undefined;
    w(line);
  }

  private raw(message: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(agentError(`guest agent did not answer '${String(message.execute)}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (line) => {
        clearTimeout(timer);
        let reply: unknown;
        try {
          reply = JSON.parse(Buffer.from(line, 'latin1').toString('utf8'));
        } catch {
          reject(agentError(`guest agent sent malformed data: ${line.slice(0, 100)}`));
          return;
        }
        if (isJsonObject(reply) && isJsonObject(reply.error)) {
          reject(virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU,
            `unable to execute QEMU agent command '${String(message.execute)}': ${String(reply.error.desc)}`));
          return;
        }
        resolve(isJsonObject(reply) ? reply.return : undefined);
      };
      this.socket.write(`${JSON.stringify(message)}\n`);
      this.drain();
    });
  }
}

/** How long thawing keeps trying before it reports a thaw error, and the pause between tries. */
const THAW_DEADLINE_MS = 30_000;
const THAW_RETRY_MS = 500;

/** Options for {@link freezeAround}. */
export interface FreezeOptions {
  /** Bound on guest-fsfreeze-freeze (a guest with much dirty data takes long); default 60 s. */
  freezeTimeoutMs?: number;
  /** Bound on each thaw call (thawing retries until the guest reports thawed, up to 30 s); default 10 s. */
  thawTimeoutMs?: number;
}

/**
 * Runs `fn` with the guest's filesystems frozen, and thaws them afterwards whatever
 * happened: after a failure or a timed-out freeze (which may still complete in the
 * guest) the thaw goes through a fresh, resynchronised session, since late replies would
 * otherwise be taken for the thaw's. A freeze that fails throws (after the thaw); a thaw
 * that fails is returned as `thawError` for the caller to report. `frozen` is the number
 * of filesystems the agent froze (undefined if its reply did not say).
 */
export async function freezeAround<T>(
  socketPath: string, fn: () => Promise<T>, opts: FreezeOptions = {},
): Promise<{ result: T; frozen: number | undefined; thawError?: Error }> {
  const freezeTimeoutMs = opts.freezeTimeoutMs ?? 60_000;
  const thawTimeoutMs = opts.thawTimeoutMs ?? 10_000;
  let agent: GuestAgent | undefined = await GuestAgent.connect(socketPath, thawTimeoutMs);
  let inSync = true;
  let thawError: Error | undefined;
  // Thawing ends only when the guest reports 'thawed': a freeze that timed out on our side
  // may still land in the guest after a first thaw (or a thaw may be lost when a session is
  // replaced), so the status is checked and the thaw repeated, within a bounded time. After
  // such a late freeze two 'thawed' readings half a second apart are required.
  const thaw = async (freezeMayBeLate: boolean): Promise<void> => {
    const deadline = Date.now() + THAW_DEADLINE_MS;
    const readingsNeeded = freezeMayBeLate ? 2 : 1;
    let thawedReadings = 0;
    for (;;) {
      try {
        if (!agent || !inSync) {
          agent?.close();
          agent = await GuestAgent.connect(socketPath, thawTimeoutMs);
          inSync = true;
        }
        await agent.execute('guest-fsfreeze-thaw', undefined, thawTimeoutMs);
        const status = await agent.execute('guest-fsfreeze-status', undefined, thawTimeoutMs);
        if (status === 'thawed') {
          thawedReadings += 1;
          thawError = undefined;
          if (thawedReadings >= readingsNeeded) break;
        } else {
          thawedReadings = 0;
          // Returned as thawError, reported by the snapshot code inside its own VirError or warning.
          thawError = new Error(`guest filesystems still ${String(status)} after guest-fsfreeze-thaw`);
        }
      } catch (err) {
        thawedReadings = 0;
        thawError = err instanceof Error ? err : new Error(String(err)); // as above
        inSync = false;
      }
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, THAW_RETRY_MS));
    }
    agent?.close();
    agent = undefined;
  };
  let frozen: number | undefined;
  try {
    frozen = frozenCountOf(await agent.execute('guest-fsfreeze-freeze', undefined, freezeTimeoutMs));
  } catch (err) {
    inSync = false;
    await thaw(true);
    throw err;
  }
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await thaw(false);
    throw err;
  }
  await thaw(false);
  return thawError ? { result, frozen, thawError } : { result, frozen };
}

/** The agent answers guest-fsfreeze-freeze with the number of filesystems it froze; anything else: unknown. */
function frozenCountOf(reply: unknown): number | undefined {
  return typeof reply === 'number' && Number.isSafeInteger(reply) && reply >= 0 ? reply : undefined;
}

/** The bound on a quiesced snapshot's freeze: SNAPVIRT_QUIESCE_TIMEOUT_MS, default 60 s. */
export function quiesceFreezeTimeoutMs(): number {
  const env = Number(process.env.SNAPVIRT_QUIESCE_TIMEOUT_MS);
  return Number.isFinite(env) && env > 0 ? env : 60_000;
}

/**
 * Freezes the guest's filesystems in one session and returns how many froze (undefined if
 * the reply did not say); the caller owns the thaw ({@link thawGuest}), on every path,
 * also when this throws (a freeze that timed out may still land in the guest). For a
 * freeze that must outlive one callback (a group's, across its journaled steps); a single
 * domain's uses {@link freezeAround}.
 */
export async function freezeGuest(socketPath: string, freezeTimeoutMs: number, connectTimeoutMs = 10_000): Promise<number | undefined> {
  const agent = await GuestAgent.connect(socketPath, connectTimeoutMs);
  try {
    return frozenCountOf(await agent.execute('guest-fsfreeze-freeze', undefined, freezeTimeoutMs));
  } finally {
    agent.close();
  }
}

/**
 * Thaws the guest's filesystems and waits until the agent reports them thawed, within
 * `deadlineMs`: for recovery, when the process that froze them was killed before its own
 * thaw (a frozen guest blocks every write until someone thaws it). Throws the last error
 * if the guest is still not thawed at the deadline.
 */
export async function thawGuest(socketPath: string, deadlineMs = 30_000, callTimeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    let agent: GuestAgent | undefined;
    try {
      agent = await GuestAgent.connect(socketPath, callTimeoutMs);
      await agent.execute('guest-fsfreeze-thaw', undefined, callTimeoutMs);
      const status = await agent.execute('guest-fsfreeze-status', undefined, callTimeoutMs);
      if (status === 'thawed') return;
      // thawGuest's one caller (recovery) is best effort and ignores it: it never reaches the API.
      if (Date.now() >= deadline) throw new Error(`guest filesystems still ${String(status)} after guest-fsfreeze-thaw`);
    } catch (err) {
      if (Date.now() >= deadline) throw err;
    } finally {
      agent?.close();
    }
    await new Promise((resolve) => setTimeout(resolve, THAW_RETRY_MS));
  }
}
