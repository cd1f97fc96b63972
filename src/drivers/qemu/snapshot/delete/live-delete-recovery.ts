/**
 * How recovery finishes an interrupted live delete (delete-active.ts): back while its QEMU
 * runs (each merge's undo puts its base back), forward once that QEMU is gone (a merge's
 * undo image lived in it), writing the commit the delete would have from its intent.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import { SnapshotDeleteFlags as D } from '../../../../api/flags.js';
import { deleteFromTree, deleteScopeOf } from '../../../../snapshot/tree-delete.js';
import type { Store } from '../../../../store/index.js';
import type { JournalEntry, TxnContext } from '../../../../txn/index.js';
import { updateOfflineDomainState } from '../../catalog/domain-state.js';
import { loadTree, saveTree } from '../../catalog/snapshot-catalog.js';
import { refuseGroupMembers } from '../../group/group-membership.js';
import { LIVE_DELETE } from '../../journal/active-resources.js';
import { mustRollDeleteForward } from '../../journal/undoable-merge-resources.js';
import { isJsonObject } from '../../qmp/qmp-json.js';

const Q = VirErrorDomain.QEMU;

/** What a live delete journals: enough for recovery to write its commit when it rolls it forward. */
export interface LiveDeleteIntent {
  snapshot: string;
  flags: number;
  removed: string[];
  memoryFiles: string[];
}

function liveDeleteIntentOf(entry: JournalEntry): LiveDeleteIntent {
  const i = entry.intent;
  const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined);
  if (isJsonObject(i) && typeof i.snapshot === 'string' && typeof i.flags === 'number' && strings(i.removed) && strings(i.memoryFiles)) {
    return { snapshot: i.snapshot, flags: i.flags, removed: strings(i.removed)!, memoryFiles: strings(i.memoryFiles)! };
  }
  throw virError(VirErrorCode.INTERNAL_ERROR, Q, `journal entry ${entry.id} (${entry.kind}) has no live delete intent`);
}

/** The commit of a live delete, written by recovery when it rolls an interrupted delete forward. */
function commitLiveDeleteForward(store: Store, entry: JournalEntry): void {
  const intent = liveDeleteIntentOf(entry);
  const tree = loadTree(store, entry.domain.uuid);
  if (!tree.has(intent.snapshot)) return;
  deleteFromTree(tree, intent.snapshot, deleteScopeOf(intent.flags));
  saveTree(store, entry.domain.uuid, tree);
  if (intent.memoryFiles.length > 0) updateOfflineDomainState(store, entry.domain.uuid, { forgotten: intent.memoryFiles });
  // Without --force a group member's delete was refused before it began: only a leaving one gets here.
  if (intent.flags & D.LEAVE_GROUP) refuseGroupMembers(store, { uuid: entry.domain.uuid, name: entry.domain.name, id: -1 }, intent.removed, true)(store);
}

/** Registers how recovery finishes an interrupted live delete: back while its QEMU runs, forward once it is gone. */
export function registerLiveDeleteHandlers(ctx: TxnContext): void {
  ctx.registry.registerOperation(LIVE_DELETE, {
    decide: async (entry) => ((await mustRollDeleteForward(entry)) ? 'forward' : 'back'),
    commitForward: (entry, store) => commitLiveDeleteForward(store, entry),
  });
}
