/**
 * What a connection's domains looked like at the last look, and the lifecycle events each
 * new look finds: the domains are listed with their states, and every difference from the
 * book becomes the events lifecycle-transitions.ts derives. Shared by the library's own
 * events (local-lifecycle-events.ts) and snapvirtd's (daemon/outside-changes.ts).
 *
 * A change its owner announces itself (snapvirtd's handlers do) is recorded first
 * (noteOwnChange), so a look that saw the change already does not announce it twice, and a
 * look that began before it does not undo it. Looks never overlap: one asked for while
 * another runs follows it.
 */
import type { Connection } from './connection.js';
import { DomainState } from './domain-state.js';
import type { Domain } from './domain.js';
import { lifecycleTransitions, type LifecycleEvent, type SeenDomain } from './lifecycle-transitions.js';

/** The changes an owner announces itself (snapvirtd's handler kinds). */
export type OwnChangeKind = 'DEFINED_ADDED' | 'DEFINED_UPDATED' | 'DEFINED_RENAMED' | 'UNDEFINED' | 'UNDEFINED_RENAMED'
  | 'STARTED' | 'SUSPENDED' | 'RESUMED' | 'STOPPED_DESTROYED';

/** Where a look's findings go: the domain `uuid` (as `seen`) and its events. */
export type StateChangeSink = (uuid: string, seen: SeenDomain, events: readonly LifecycleEvent[]) => void;

export class DomainStateBook {
  readonly #domains = new Map<string, SeenDomain>();
  /** Bumped by each owner's change; a look leaves alone the domains changed after it began. */
  #version = 0;
  /** The version of each domain's last owner's change (forgotten once every look began after it). */
  readonly #touched = new Map<string, number>();
  #current: Promise<void> | undefined;
  #again = false;

  /**
   * `busy` (domain-busy.ts) tells which domains an operation holds now: a look leaves them
   * as they were and sees them again when the operation is done.
   */
  constructor(private readonly sink: StateChangeSink, private readonly busy?: (uuid: string) => boolean) {}

  /**
   * Lists `conn`'s domains and their states; with `announce`, each difference goes to the
   * sink (without, the look is a baseline). Resolves once a look that began after this
   * call has finished.
   */
  look(conn: Connection, announce: boolean): Promise<void> {
    if (this.#current) {
      this.#again = true;
      return this.#current;
    }
    this.#current = (async () => {
      try {
        do {
          this.#again = false;
          await this.#lookOnce(conn, announce);
        } while (this.#again);
      } finally {
        this.#current = undefined;
      }
    })();
    return this.#current;
  }

  /**
   * Records a change its owner made to `dom` (`kind`, the event it announces); false when
   * a look announced it already, so the owner does not announce it again.
   */
  noteOwnChange(dom: Domain, kind: OwnChangeKind): boolean {
    const uuid = dom.getUUIDString();
    const seen = this.#domains.get(uuid);
    this.#touched.set(uuid, ++this.#version);
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
    if (!next.persistent && next.id === -1) this.#domains.delete(uuid);
    else this.#domains.set(uuid, next);
    return true;
  }

  async #lookOnce(conn: Connection, announce: boolean): Promise<void> {
    const began = this.#version;
    const now = new Map<string, SeenDomain>();
    try {
      for (const dom of await conn.listAllDomains(0)) {
        const uuid = dom.getUUIDString();
        const known = this.#domains.get(uuid);
        try {
          // Asked right after the check, so no operation starts in between and finds the look in its way.
          if (this.busy?.(uuid)) throw new Error('busy');
          const { state, reason } = await dom.getState();
          const seen = { name: dom.getName(), persistent: await dom.isPersistent(), id: state === DomainState.SHUTOFF ? -1 : dom.getID(), state, reason };
          now.set(uuid, this.busy?.(uuid) ? known ?? seen : seen);
        } catch {
          // Busy, or gone between the listing and the question: the next look sees it as it is then.
          if (known) now.set(uuid, known);
        }
      }
    } catch {
      // The connection closed under the look: nothing to compare.
      return;
    }
    for (const uuid of new Set([...this.#domains.keys(), ...now.keys(), ...this.#touched.keys()])) {
      if ((this.#touched.get(uuid) ?? 0) > began) continue;
      const before = this.#domains.get(uuid);
      const after = now.get(uuid);
      const events = lifecycleTransitions(before, after);
      if (after) this.#domains.set(uuid, after);
      else this.#domains.delete(uuid);
      if (announce && events.length > 0) this.sink(uuid, after ?? before!, events);
    }
    for (const [uuid, version] of this.#touched) if (version <= began) this.#touched.delete(uuid);
  }
}
