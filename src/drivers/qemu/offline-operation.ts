/**
 * Runs one offline mutating operation by DESIGN.md's atomic protocol: journal the intent
 * (every disk resource it may touch) durably first, prepare disk steps one by one, undo
 * them in reverse on the first failure, commit all metadata in one SQLite transaction
 * (which also marks the journal entry committed), then finish post-commit cleanup.
 * Recovery (recoverOfflineJournal) rolls an unfinished entry back, or a committed one
 * forward, using only what the journal says.
 *
 * This is the smallest adapter over src/store and src/txn/failpoints the QEMU offline
 * driver needs; it keeps the intent format private to this driver.
 */
import { virError, VirError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import type { Store } from '../../store/store.js';
import type { JournalRecord } from '../../store/records.js';
import { failpoint } from '../../txn/failpoints.js';
import { cleanupResource, undoResource, type CleanupContext, type DiskResource } from './disk-resources.js';
import { replaceImagePath } from './snapshot-catalog.js';

/** One prepare step: the resource it touches (journaled before it runs) and the action. */
export interface OfflineStep {
  resource: DiskResource;
  run(): Promise<void>;
}

/** An operation to run: failpoint kind, domain, disk steps, metadata commit, cleanup. */
export interface OfflineOperation {
  /** One of txn's operation kinds (create, revert, delete, redefine, define, undefine). */
  kind: string;
  domainUuid: string;
  domainName: string;
  /** Free-form description kept in the journal for diagnosis. */
  summary: Record<string, unknown>;
  steps: OfflineStep[];
  /** Resources finished after the commit point (removals, dropping undo tags). */
  cleanup: DiskResource[];
  /** The metadata switch, run inside the store transaction that is the commit point. */
  commit(): void;
}

/** The JSON intent written before any side effect. */
interface OfflineIntent {
  driver: 'qemu-offline';
  summary: Record<string, unknown>;
  /** Resources of the prepare steps, in order. */
  resources: DiskResource[];
  cleanup: DiskResource[];
}

/** Cleanup's access to metadata: path switches go through the store. */
function cleanupContext(store: Store): CleanupContext {
  return { replaceImagePath: (uuid, from, to, format) => replaceImagePath(store, uuid, from, to, format) };
}

/** Runs `op`; on failure everything prepared is undone and the first error is thrown. */
export async function runOfflineOperation(store: Store, op: OfflineOperation): Promise<void> {
  const intent: OfflineIntent = {
    driver: 'qemu-offline',
    summary: op.summary,
    resources: op.steps.map((s) => s.resource),
    cleanup: op.cleanup,
  };
  failpoint(`${op.kind}.journal.before`);
  const id = store.journal.insert({
    kind: op.kind,
    domainUuid: op.domainUuid,
    domainName: op.domainName,
    intent: JSON.stringify(intent),
    progress: '[]',
    phase: 'prepare',
  });
  failpoint(`${op.kind}.journal.after`);

  let started = 0;
  let committed = false;
  try {
    for (const step of op.steps) {
      failpoint(`${op.kind}.prepare.step.before`);
      // Counted before running: a step that fails halfway may have left something behind.
      started++;
      store.journal.update(id, { progress: JSON.stringify({ started }) });
      try {
        await step.run();
      } catch (err) {
        // A step that provably created nothing must not be undone: its target may be someone else's file.
        if ((err as { nothingCreated?: boolean }).nothingCreated) started--;
        throw err;
      }
      failpoint(`${op.kind}.prepare.step.after`);
    }
    failpoint(`${op.kind}.commit.before`);
    store.transaction(() => {
      op.commit();
      store.journal.update(id, { phase: 'committed' });
      store.journal.setOutcome(id, 'committed', op.cleanup.length === 0);
    });
    committed = true;
    failpoint(`${op.kind}.commit.after`);
  } catch (err) {
    // Past the commit point there is nothing to undo: the operation happened.
    if (committed) throw err;
    await rollBack(store, id, op.kind, op.steps.slice(0, started).map((s) => s.resource), err);
    throw err;
  }
  if (op.cleanup.length > 0) {
    failpoint(`${op.kind}.finalize.before`);
    try {
      for (const res of op.cleanup) await cleanupResource(res, cleanupContext(store));
      store.journal.close(id);
    } catch {
      // The operation is committed; leftovers are finished by recovery on the next open.
    }
    failpoint(`${op.kind}.finalize.after`);
  }
}

/** Undoes `resources` in reverse and closes the entry as rolled back. */
async function rollBack(store: Store, id: number, kind: string, resources: DiskResource[], cause: unknown): Promise<void> {
  const errors: unknown[] = [];
  for (const res of [...resources].reverse()) {
    try {
      failpoint(`${kind}.undo.step.before`);
      await undoResource(res);
      failpoint(`${kind}.undo.step.after`);
    } catch (err) {
      errors.push(err);
    }
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  if (errors.length === 0) {
    store.journal.update(id, { error: message, phase: 'rolled-back' });
    store.journal.setOutcome(id, 'rolled-back', true);
  } else {
    // Left open on purpose: recovery retries the undo on the next open.
    store.journal.update(id, { error: `${message}; undo failed: ${String(errors[0])}`, phase: 'undo-failed' });
  }
}

/** True when `rec` is an entry written by this driver. */
function isOfflineEntry(rec: JournalRecord): boolean {
  try {
    return (JSON.parse(rec.intent) as Partial<OfflineIntent>).driver === 'qemu-offline';
  } catch {
    return false;
  }
}

/**
 * Finishes every unclosed offline journal entry: before the commit point it undoes all
 * journaled resources (undo is idempotent, so not knowing how far prepare got is fine);
 * after it, it runs the cleanup. Safe to run again after a crash inside recovery.
 */
export async function recoverOfflineJournal(store: Store, domainUuid?: string): Promise<number> {
  let recovered = 0;
  for (const rec of store.journal.listOpen(domainUuid)) {
    if (!isOfflineEntry(rec)) continue;
    failpoint('recover.entry.before');
    const intent = JSON.parse(rec.intent) as OfflineIntent;
    if (rec.outcome === 'committed') {
      for (const res of intent.cleanup) await cleanupResource(res, cleanupContext(store));
    } else {
      for (const res of [...intent.resources].reverse()) {
        failpoint('recover.undo.resource.before');
        await undoResource(res);
        failpoint('recover.undo.resource.after');
      }
      store.journal.update(rec.id, { phase: 'rolled-back', error: rec.error ?? 'interrupted' });
      failpoint('recover.close.before');
      store.journal.setOutcome(rec.id, 'rolled-back', true);
      recovered++;
      continue;
    }
    failpoint('recover.close.before');
    store.journal.close(rec.id);
    recovered++;
  }
  return recovered;
}

/** The error for a domain whose previous operation has not been finished by recovery. */
export function pendingOperationError(domainName: string): VirError {
  return virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU,
    `domain '${domainName}' has an unfinished snapshot operation; reconnect to recover it`);
}
