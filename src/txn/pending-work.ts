/**
 * Post-commit work that could not finish (a merge that met a full disk after the commit
 * point): the operation happened, its journal entry stays open, and recovery retries the
 * work at every open and before every operation on the domain. Such an entry does not
 * block the domain: only an operation that would touch one of its files (merge, tag,
 * remove, or build on one of them) is refused, with a message naming the pending work,
 * because finishing it assumes those files are as the committed operation left them.
 */
import { VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import type { Store } from '../store/store.js';
import type { TxnContext } from './context.js';
import { openEntries, resourcesOf, type JournalEntry } from './journal.js';
import type { Resource } from './resources.js';

/** True when the entry committed (or was rolled forward): only its post-commit work is left. */
export function isCommittedEntry(entry: JournalEntry): boolean {
  return entry.outcome === 'committed' || entry.outcome === 'rolled-forward';
}

/** The files a resource names, as its handler declares them (none when it declares nothing). */
export function filesOfResource(ctx: TxnContext, r: Resource): string[] {
  return ctx.registry.hasResource(r.kind) ? ctx.registry.resource(r.kind).files?.(r) ?? [] : [];
}

/** The committed entries (of every domain) whose post-commit work is still pending. */
export function pendingEntries(store: Store): JournalEntry[] {
  return openEntries(store).filter(isCommittedEntry);
}

/** How a pending entry is named in messages. */
export function describePending(entry: JournalEntry): string {
  const i = entry.intent;
  const snapshot = typeof i === 'object' && i !== null && !Array.isArray(i) && typeof i.snapshot === 'string' ? ` of snapshot '${i.snapshot}'` : '';
  return `the post-commit work of the ${entry.kind}${snapshot} on domain '${entry.domain.name}' (journal entry ${entry.id})`;
}

/**
 * Refuses (VIR_ERR_OPERATION_INVALID) when any of `files` belongs to pending post-commit
 * work: that work must finish first. Changes nothing.
 */
export function refusePendingConflicts(ctx: TxnContext, files: Iterable<string>): void {
  const pending = pendingEntries(ctx.store);
  if (pending.length === 0) return;
  const wanted = new Set(files);
  for (const entry of pending) {
    for (const r of resourcesOf(entry)) {
      const hit = filesOfResource(ctx, r).find((f) => wanted.has(f));
      if (hit === undefined) continue;
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.NONE,
        `image '${hit}' is part of ${describePending(entry)}, which has not finished${entry.error ? ` (${entry.error})` : ''}; ` +
        'it is retried before every operation on the domain and by snapshot-check --repair once the fault is gone');
    }
  }
}
