/**
 * Lifecycle events for the changes the daemon does not make itself: the CLI or the library
 * in another process starting, reverting or undefining a domain on the same host, or a
 * guest powering itself off. libvirtd hears its QEMUs; snapvirtd shares its domains with
 * other processes, so it looks: while a client on a shared URI (qemu:///…) has a lifecycle
 * callback registered, the domains of that URI are listed with their states every
 * POLL_INTERVAL_MS, and each difference from the last look becomes the events
 * lifecycle-transitions.ts derives. test:/// URIs are left out: each connection holds its
 * state alone, so every change to it goes through the daemon.
 *
 * A change the daemon makes itself is announced by its handler as it finishes
 * (domain-events.ts), and recorded here first (noteOwnChange), so a look that saw the
 * change already does not announce it twice, and a look that started before it does not
 * undo it.
 */
import type { Connection } from '../api/connection.js';
import { DomainState } from '../api/domain-state.js';
import type { Domain } from '../api/domain.js';
import type { ClientSession } from './client-session.js';
import { lifecycleTransitions, type LifecycleEvent, type SeenDomain } from './lifecycle-transitions.js';

/** How often a watched URI's domains are looked at: often enough for `virsh event`, rarely enough to cost nothing. */
export const POLL_INTERVAL_MS = 1000;

/** VIR_DOMAIN_EVENT_ID_LIFECYCLE */
const EVENT_ID_LIFECYCLE = 0;

/** Where the watcher sends what it found: the URI's clients hear `events` for the domain `uuid` (as `seen`). */
export type OutsideChangeSink = (uri: string, uuid: string, seen: SeenDomain, events: readonly LifecycleEvent[]) => void;

/** The changes the daemon's handlers announce themselves (domain-events.ts's kinds). */
export type OwnChangeKind = 'DEFINED_ADDED' | 'DEFINED_UPDATED' | 'DEFINED_RENAMED' | 'UNDEFINED' | 'UNDEFINED_RENAMED'
  | 'STARTED' | 'SUSPENDED' | 'RESUMED' | 'STOPPED_DESTROYED';

interface Book {
  domains: Map<string, SeenDomain>;
  /** Bumped by each of the daemon's own changes; a look leaves alone the domains changed after it began. */
  version: number;
  /** The version of each domain's last change by the daemon (forgotten once every look began after it). */
  touched: Map<string, number>;
  timer: NodeJS.Timeout | undefined;
  looking: boolean;
}

export class OutsideChanges {
  readonly #books = new Map<string, Book>();

  constructor(
    private readonly sessions: () => Iterable<ClientSession>,
    private readonly sink: OutsideChangeSink,
    private readonly intervalMs = POLL_INTERVAL_MS,
  ) {}

  /** Starts watching the URIs whose clients registered a lifecycle callback; call after a registration. */
  async watch(): Promise<void> {
    for (const uri of this.#wanted().keys()) {
      if (this.#books.has(uri)) continue;
      const book: Book = { domains: new Map(), version: 0, touched: new Map(), timer: undefined, looking: false };
      this.#books.set(uri, book);
      // The first look is the baseline: what was there before anyone listened raises nothing.
      await this.#look(uri, book, false);
      this.#schedule(uri, book);
    }
  }

  /**
   * Records a change the daemon made to `dom` on `uri` (`kind`, the event its handler
   * raises); false when a look already announced it, so the caller does not announce it
   * again.
   */
  noteOwnChange(uri: string, dom: Domain, kind: OwnChangeKind): boolean {
    const book = this.#books.get(uri);
    if (!book) return true;
    const uuid = dom.getUUIDString();
    const seen = book.domains.get(uuid);
    book.touched.set(uuid, ++book.version);
    const next: SeenDomain = seen ? { ...seen } : { name: dom.getName(), persistent: false, id: -1, state: DomainState.SHUTOFF, reason: 0 };
    switch (kind) {
      case 'DEFINED_UPDATED': return true;
      case 'DEFINED_ADDED':
        if (seen?.persistent) return false;
        next.persistent = true;
        break;
      case 'UNDEFINED':
        if (!seen?.persistent) return false;
        next.persistent = false;
        break;
      // The old name's UNDEFINED, then the new name's DEFINED: the book takes the new name with the second.
      case 'UNDEFINED_RENAMED': return seen === undefined || seen.name === dom.getName();
      case 'DEFINED_RENAMED':
        if (seen?.name === dom.getName()) return false;
        next.name = dom.getName();
        break;
      case 'STARTED':
        if (seen && seen.id !== -1 && seen.id === dom.getID()) return false;
        next.id = dom.getID();
        next.state = DomainState.RUNNING;
        break;
      case 'SUSPENDED':
        if (seen?.state === DomainState.PAUSED) return false;
        next.state = DomainState.PAUSED;
        break;
      case 'RESUMED':
        if (seen?.state === DomainState.RUNNING) return false;
        next.state = DomainState.RUNNING;
        break;
      case 'STOPPED_DESTROYED':
        if (!seen || seen.id === -1) return false;
        next.id = -1;
        next.state = DomainState.SHUTOFF;
        break;
    }
    if (!next.persistent && next.id === -1) book.domains.delete(uuid);
    else book.domains.set(uuid, next);
    return true;
  }

  /** Stops every look (the daemon is stopping). */
  stop(): void {
    for (const book of this.#books.values()) clearTimeout(book.timer);
    this.#books.clear();
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

  #schedule(uri: string, book: Book): void {
    book.timer = setTimeout(() => {
      if (!this.#wanted().has(uri)) {
        this.#books.delete(uri);
        return;
      }
      void this.#look(uri, book, true).finally(() => { if (this.#books.get(uri) === book) this.#schedule(uri, book); });
    }, this.intervalMs);
    book.timer.unref();
  }

  /** Lists the URI's domains and their states; with `announce`, each difference goes to the sink. */
  async #look(uri: string, book: Book, announce: boolean): Promise<void> {
    const conn = this.#wanted().get(uri);
    if (!conn || book.looking) return;
    book.looking = true;
    const began = book.version;
    try {
      const now = new Map<string, SeenDomain>();
      for (const dom of await conn.listAllDomains(0)) {
        try {
          const { state, reason } = await dom.getState();
          now.set(dom.getUUIDString(), { name: dom.getName(), persistent: await dom.isPersistent(), id: state === DomainState.SHUTOFF ? -1 : dom.getID(), state, reason });
        } catch {
          // Gone between the listing and the question: the next look sees it as it is then.
          const known = book.domains.get(dom.getUUIDString());
          if (known) now.set(dom.getUUIDString(), known);
        }
      }
      for (const uuid of new Set([...book.domains.keys(), ...now.keys(), ...book.touched.keys()])) {
        if ((book.touched.get(uuid) ?? 0) > began) continue;
        const before = book.domains.get(uuid);
        const after = now.get(uuid);
        const events = lifecycleTransitions(before, after);
        if (after) book.domains.set(uuid, after);
        else book.domains.delete(uuid);
        if (announce && events.length > 0) this.sink(uri, uuid, after ?? before!, events);
      }
      for (const [uuid, version] of book.touched) if (version <= began) book.touched.delete(uuid);
    } catch {
      // The connection closed under the look (its client left): the next look uses another, or stops.
    } finally {
      book.looking = false;
    }
  }
}
