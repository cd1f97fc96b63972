/**
 * The locks of a group operation's other domains. A group entry is journaled under its
 * first domain (the lowest UUID: the canonical lock order) and lists the others as
 * members; whoever finishes it must hold every member's lock, as the operation did.
 * Recovery only tries them (never waits): a busy member means that domain is in use, and
 * the entry is left for a later open or lock, which finishes it then.
 */
import type { TxnContext } from './context.js';
import { tryAcquireDomainLock, type DomainLock } from './domain-lock.js';
import type { JournalEntry } from './journal.js';

/** Every domain an entry spans, lead first, then its members in canonical (UUID) order. */
export function domainsOfEntry(entry: JournalEntry): { uuid: string; name: string }[] {
  return [entry.domain, ...[...entry.members].sort((a, b) => a.uuid.localeCompare(b.uuid))];
}

/**
 * Try-locks the domains of `entry` other than those in `held` (lower-case UUIDs), in
 * canonical order. Returns the locks taken, or undefined (having released what it took)
 * when one of them is held elsewhere.
 */
export function tryLockEntryDomains(ctx: TxnContext, entry: JournalEntry, held: ReadonlySet<string>): DomainLock[] | undefined {
  const taken: DomainLock[] = [];
  for (const d of domainsOfEntry(entry)) {
    if (held.has(d.uuid.toLowerCase())) continue;
    const lock = tryAcquireDomainLock(ctx.lockDir, d.uuid, 'recovery');
    if (!lock) {
      releaseAll(taken);
      return undefined;
    }
    taken.push(lock);
  }
  return taken;
}

/** Releases locks newest first. */
export function releaseAll(locks: readonly DomainLock[]): void {
  for (const l of [...locks].reverse()) l.release();
}
