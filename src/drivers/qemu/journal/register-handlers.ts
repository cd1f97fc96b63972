/**
 * Every journal resource and operation kind of the QEMU driver, registered in one place:
 * recovery needs all of them before it can finish or undo whatever a crash interrupted.
 */
import type { TxnContext } from '../../../txn/index.js';
import { registerInactiveHandlers } from './inactive-operation.js';
import { registerActiveHandlers } from './active-resources.js';
import { registerRevertHandlers } from './active-revert-resources.js';
import { registerTransientHandlers } from '../domain/transient-domain.js';
import { registerGroupSnapshotHandlers } from '../group/qemu-group-snapshots.js';
import { registerStateFileHandlers } from '../firmware/state-file-steps.js';
import { registerBlockJobHandlers } from './block-job-resources.js';
import { registerTpmGenerationHandlers } from '../tpm/tpm-generation.js';
import { registerUndoableMergeHandlers } from './undoable-merge-resources.js';
import { registerLiveDeleteHandlers } from '../snapshot/delete/live-delete-recovery.js';

/** Registers the driver's handlers on a fresh context, before its first recovery. */
export function registerQemuHandlers(ctx: TxnContext): void {
  registerInactiveHandlers(ctx);
  registerActiveHandlers(ctx);
  registerTransientHandlers(ctx);
  registerRevertHandlers(ctx);
  registerGroupSnapshotHandlers(ctx);
  registerStateFileHandlers(ctx);
  registerBlockJobHandlers(ctx);
  registerTpmGenerationHandlers(ctx);
  registerUndoableMergeHandlers(ctx);
  registerLiveDeleteHandlers(ctx);
}
