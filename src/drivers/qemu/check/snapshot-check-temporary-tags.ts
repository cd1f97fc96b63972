/**
 * Which internal tags are snapvirt's temporary ones: those a journal entry recorded taking
 * on that image (an offline internal revert's `applied-tag` undo tag, a running revert's
 * `qemu-revert-undo-tag`), never those that merely look like one. A user may name a tag
 * anything (libvirt reserves no name), so a name alone proves nothing, and deleting a tag
 * deletes its data.
 *
 * Whether such a tag may go depends on how its operation ended: committed or rolled back
 * (forward), the tag is provably useless (the revert stands, or the undo was applied);
 * abandoned, it may hold the only copy of the state the metadata still calls current.
 * Open entries are recovery's, not the check's (filesOfOpenEntries).
 */
import { resolve } from 'node:path';
import type { JournalOutcome, Store } from '../../../store/index.js';
import { JOURNAL_KEEP, JOURNAL_PRUNE_BATCH, loadEntry } from '../../../txn/index.js';
import { REVERT_UNDO_TAG } from '../journal/active-revert-resources.js';

/** The closed journal entry that took a temporary tag. */
export interface TemporaryTagOrigin {
  entryId: number;
  kind: string;
  outcome: JournalOutcome;
}

/** The `image:tag` pairs closed journal entries record as temporary tags they took. */
export function temporaryTagsInJournal(store: Store): Map<string, TemporaryTagOrigin> {
  const out = new Map<string, TemporaryTagOrigin>();
  // Every entry the journal keeps (pruning keeps at least JOURNAL_KEEP); oldest first, so
  // the newest entry that took a tag of that name on that image is the one reported.
  const records = store.journal.listRecent(JOURNAL_KEEP + JOURNAL_PRUNE_BATCH).reverse();
  for (const rec of records) {
    if (rec.outcome === null || rec.closedAt === null) continue;
    // Cheap filter before parsing: only reverts take temporary tags.
    if (!rec.intent.includes('"undoTag"') && !rec.intent.includes(REVERT_UNDO_TAG)) continue;
    const origin: TemporaryTagOrigin = { entryId: rec.id, kind: rec.kind, outcome: rec.outcome };
    for (const step of loadEntry(store, rec.id).steps) {
      for (const r of step.resources) {
        if (typeof r.undoTag === 'string' && typeof r.image === 'string') out.set(`${resolve(r.image)}:${r.undoTag}`, origin);
        if (r.kind === REVERT_UNDO_TAG && typeof r.tag === 'string' && Array.isArray(r.images)) {
          for (const image of r.images) if (typeof image === 'string') out.set(`${resolve(image)}:${r.tag}`, origin);
        }
      }
    }
  }
  return out;
}

/** Why a recorded temporary tag must stay, or undefined when its operation ended and it is provably useless. */
export function whyTemporaryTagStays(origin: TemporaryTagOrigin): string | undefined {
  if (origin.outcome !== 'abandoned') return undefined;
  return `the ${origin.kind} that took it was abandoned (journal entry ${origin.entryId}), so it may hold the disk's state from before that ${origin.kind}; apply it with qemu-img snapshot -a if the disk should read that state, then delete it with qemu-img snapshot -d`;
}

/** How an outcome reads in a finding's message. */
export function outcomeText(outcome: JournalOutcome): string {
  return outcome.replace('-', ' ');
}
