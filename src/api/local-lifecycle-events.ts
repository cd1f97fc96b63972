/**
 * Domain lifecycle events on a connection whose driver raises none itself (the in-process
 * QEMU and test drivers; a remote connection gets the daemon's): the connection's domains
 * are looked at (domain-state-book.ts) right after each change made through this
 * connection, and every POLL_INTERVAL_MS for the changes other processes and guests make
 * (on qemu:///, where the state is shared), while a callback is registered. The events are
 * those libvirt raises for the change seen, with the detail from the new state's reason.
 * A change another process makes and undoes between two looks is not seen.
 */
import type { DomainRef, HypervisorDriver, LifecycleListener } from '../drivers/driver.js';
import type { Connection } from './connection.js';
import { domainBusyProbe } from './domain-busy.js';
import { DomainStateBook } from './domain-state-book.js';
import { virError, VirErrorCode, VirErrorDomain } from './errors.js';
import type { LifecycleEvent, SeenDomain } from './lifecycle-transitions.js';

/** How often domains are looked at for changes made elsewhere: often enough for an event loop, rarely enough to cost nothing. */
export const POLL_INTERVAL_MS = 1000;

interface Registration { domainUuid: string | null; listener: LifecycleListener }

export class LocalLifecycleEvents {
  readonly #registrations = new Map<number, Registration>();
  #nextCallbackID = 1;
  #book: DomainStateBook | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly conn: Connection, private readonly intervalMs = POLL_INTERVAL_MS) {}

  /** Registers `listener` for `dom`'s events (null: every domain's); the first one takes the baseline look. */
  async register(dom: DomainRef | null, listener: LifecycleListener): Promise<number> {
    if (!this.#book) {
      const book = new DomainStateBook((uuid, seen, events) => this.#deliver(uuid, seen, events), domainBusyProbe(this.conn.driver));
      // What was there before anyone listened raises nothing.
      await book.look(this.conn, false);
      this.#book = book;
      this.#schedule();
    }
    const callbackID = this.#nextCallbackID++;
    this.#registrations.set(callbackID, { domainUuid: dom?.uuid.toLowerCase() ?? null, listener });
    return callbackID;
  }

  /** Ends registration `callbackID`; VIR_ERR_INVALID_ARG when there is none. */
  deregister(callbackID: number): void {
    if (!this.#registrations.delete(callbackID)) {
      throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.NONE, `unable to find callback ID ${callbackID}`);
    }
    if (this.#registrations.size === 0) this.stop();
  }

  /** A change was made through this connection: look now, so its events come in order and at once. */
  changed(): Promise<void> {
    return this.#book ? this.#book.look(this.conn, true) : Promise.resolve();
  }

  /** Stops looking (no callback left, or the connection closes); a later registration starts afresh. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#book = undefined;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      const book = this.#book;
      if (!book) return;
      void book.look(this.conn, true).finally(() => { if (this.#book === book) this.#schedule(); });
    }, this.intervalMs);
    // Kept referenced: while a callback is registered Node keeps running, as with a remote connection.
  }

  #deliver(uuid: string, seen: SeenDomain, events: readonly LifecycleEvent[]): void {
    for (const [event, detail, name] of events) {
      for (const reg of [...this.#registrations.values()]) {
        if (reg.domainUuid !== null && reg.domainUuid !== uuid.toLowerCase()) continue;
        try {
          reg.listener({ name, uuid, id: seen.id }, event, detail);
        } catch (err) {
          // A callback's own failure is its caller's, not the look's: the other callbacks still hear.
          queueMicrotask(() => { throw err; });
        }
      }
    }
  }
}

/** The driver calls that can change a domain's lifecycle state, by the part of the driver they are in. */
const CHANGING: Readonly<Record<string, ReadonlySet<string>>> = {
  driver: new Set(['domainDefineXML', 'domainCreateXML', 'domainUndefine', 'domainCreate', 'domainDestroy', 'domainShutdown',
    'domainSuspend', 'domainResume', 'revertToSnapshot', 'snapshotCreateXML']),
  lifecycle: new Set(['reboot', 'reset', 'rename']),
  groupSnapshots: new Set(['create', 'revert']),
};

function observe<T extends object>(target: T, part: string, changed: () => Promise<void>): T {
  const calls = CHANGING[part]!;
  return new Proxy(target, {
    get(t, prop) {
      // The target's own `this`: drivers keep private fields a proxy would not have.
      const value: unknown = Reflect.get(t, prop, t);
      if (typeof prop === 'string' && (prop === 'lifecycle' || prop === 'groupSnapshots') && part === 'driver' && value) {
        return observe(value as object, prop, changed);
      }
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (typeof prop !== 'string' || !calls.has(prop)) return fn.bind(t);
      return async (...args: unknown[]) => {
        try {
          return await fn.apply(t, args);
        } finally {
          await changed();
        }
      };
    },
  });
}

/** `driver` with a look after each call that can change a domain's lifecycle state. */
export function observeLifecycleChanges(driver: HypervisorDriver, events: LocalLifecycleEvents): HypervisorDriver {
  return observe(driver, 'driver', () => events.changed());
}
