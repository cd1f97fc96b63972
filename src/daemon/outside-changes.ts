/**
 * Lifecycle events for the changes the daemon does not make itself: the CLI or the library
 * in another process starting, reverting or undefining a domain on the same host, or a
 * guest powering itself off. libvirtd hears its QEMUs; snapvirtd shares its domains with
 * other processes, so it looks: while a client on a shared URI (qemu:///…) has a lifecycle
 * callback registered, the domains of that URI are looked at every POLL_INTERVAL_MS
 * (api/domain-state-book.ts), and each difference from the last look becomes events.
 * test:/// URIs are left out: each connection holds its state alone, so every change to it
 * goes through the daemon.
 *
 * A domain watch (domain-watches.ts) that hears QEMU report a run state change has the
 * URI looked at at once (lookSoon): another process's suspend or resume, a guest's
 * power-off are announced when they happen, not up to a tick later.
 *
 * A change the daemon makes itself is announced by its handler as it finishes
 * (domain-events.ts), and recorded in the URI's book first (noteOwnChange), so it is
 * announced once.
 */
import type { Connection } from '../api/connection.js';
import type { Domain } from '../api/domain.js';
import { domainBusyProbe } from '../api/domain-busy.js';
import { DomainStateBook, type OwnChangeKind } from '../api/domain-state-book.js';
import type { LifecycleEvent, SeenDomain } from '../api/lifecycle-transitions.js';
import { POLL_INTERVAL_MS } from '../api/local-lifecycle-events.js';
import type { ClientSession } from './client-session.js';

/** VIR_DOMAIN_EVENT_ID_LIFECYCLE */
const EVENT_ID_LIFECYCLE = 0;
/** How often lookSoon asks again whether the domain's operation let go of it. */
const SOON_RETRY_MS = 20;

/** Where the watcher sends what it found: the URI's clients hear `events` for the domain `uuid` (as `seen`). */
export type OutsideChangeSink = (uri: string, uuid: string, seen: SeenDomain, events: readonly LifecycleEvent[]) => void;

interface Watched {
  book: DomainStateBook;
  timer: NodeJS.Timeout | undefined;
}

export class OutsideChanges {
  readonly #watched = new Map<string, Watched>();

  constructor(
    private readonly sessions: () => Iterable<ClientSession>,
    private readonly sink: OutsideChangeSink,
    private readonly intervalMs = POLL_INTERVAL_MS,
  ) {}

  /** Starts watching the URIs whose clients registered a lifecycle callback; call after a registration. */
  async watch(): Promise<void> {
    for (const [uri, conn] of this.#wanted()) {
      if (this.#watched.has(uri)) continue;
      const book = new DomainStateBook((uuid, seen, events) => this.sink(uri, uuid, seen, events), domainBusyProbe(conn.driver));
      const w: Watched = { book, timer: undefined };
      this.#watched.set(uri, w);
      // The first look is the baseline: what was there before anyone listened raises nothing.
      await w.book.look(conn, false);
      this.#schedule(uri, w);
    }
  }

  /**
   * Looks at `uri`'s domains now rather than at the next tick: a domain watch heard QEMU
   * report a run state change of domain `uuid` (domain-watches.ts). The change usually
   * comes from an operation that holds the domain (another process's suspend), which a look
   * leaves alone: while it does, the look is tried again every SOON_RETRY_MS, for one tick.
   */
  lookSoon(uri: string, uuid: string, deadline = performance.now() + this.intervalMs): void {
    const w = this.#watched.get(uri);
    const conn = this.#wanted().get(uri);
    if (!w || !conn) return;
    if (domainBusyProbe(conn.driver)?.(uuid)) {
      if (performance.now() < deadline) setTimeout(() => this.lookSoon(uri, uuid, deadline), SOON_RETRY_MS).unref();
      return;
    }
    void w.book.look(conn, true).catch(() => undefined);
  }

  /** Records a change the daemon made to `dom` on `uri`; false when a look announced it already. */
  noteOwnChange(uri: string, dom: Domain, kind: OwnChangeKind): boolean {
    return this.#watched.get(uri)?.book.noteOwnChange(dom, kind) ?? true;
  }

  /** Stops every look (the daemon is stopping). */
  stop(): void {
    for (const w of this.#watched.values()) clearTimeout(w.timer);
    this.#watched.clear();
  }

  /** The shared URIs some client listens on, each with one of those clients' connections. */
  #wanted(): Map<string, Connection> {
    const wanted = new Map<string, Connection>();
    for (const s of this.sessions()) {
      const uri = s.conn?.getURI();
      if (!s.conn || uri === undefined || uri.startsWith('test:')) continue;
      if ([...s.registrations.values()].some((r) => r.eventID === EVENT_ID_LIFECYCLE)) wanted.set(uri, s.conn);
    }
    return wanted;
  }

  #schedule(uri: string, w: Watched): void {
    w.timer = setTimeout(() => {
      const conn = this.#wanted().get(uri);
      if (!conn) {
        this.#watched.delete(uri);
        return;
      }
      void w.book.look(conn, true).finally(() => { if (this.#watched.get(uri) === w) this.#schedule(uri, w); });
    }, this.intervalMs);
    w.timer.unref();
  }
}
