/**
 * Recovery: finishing operations a crash interrupted. Every unclosed journal entry is
 * rolled back (undo the resources of every step that started, newest first), or rolled
 * forward when its handler says the switch provably happened, or, when it had already
 * committed, has its post-commit work finished. Each action is idempotent and progress is
 * recorded as it goes, so a crash during recovery is recovered by the next run.
 *
 * Recovery of an entry always runs under that domain's lock: an open entry whose domain
 * is locked belongs to an operation still running in another process, not to a crash.
 */
import { VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import type { TxnContext } from './context.js';
import { tryAcquireDomainLock, type DomainLock } from './domain-lock.js';
import { failpoint } from './failpoints.js';
import { removeDeadWriterTemps } from '../store/dead-writer-temps.js';
import { releaseAll, tryLockEntryDomains } from './member-locks.js';
import {
  closeEntry, finishEntry, loadEntry, markStep, openEntries, openMemberEntries, resourcesOf, resourcesToUndo, setPhase, type JournalEntry,
} from './journal.js';
import { describePending, isCommittedEntry } from './pending-work.js';
import type { RecoveryDirection } from './registry.js';

/** What recovery did with one entry. */
export interface RecoveryReport {
  id: number;
  kind: string;
  domainUuid: string;
  /** back: rolled back; forward: rolled forward; finalize: was committed, post-commit work done; skipped: domain busy; failed: see error. */
  action: RecoveryDirection | 'finalize' | 'skipped' | 'failed';
  /** Set when recovery of this entry failed; the entry stays open. */
  error?: Error;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs the finalize handlers of all resources of an entry (its steps', then its post-commit work). */
export async function finalizeResources(ctx: TxnContext, entry: JournalEntry): Promise<void> {
  for (const r of resourcesOf(entry)) {
    const h = ctx.registry.resource(r.kind);
    if (h.finalize) await h.finalize(r);
  }
}

/** True when any resource of the entry has post-commit work. */
export function hasFinalizers(ctx: TxnContext, entry: JournalEntry): boolean {
  return resourcesOf(entry).some((r) => ctx.registry.resource(r.kind).finalize !== undefined);
}

/** Makes every resource of the done steps (those `needed` selects, default all) durable before a commit point. */
export async function persistResources(
  ctx: TxnContext, entry: JournalEntry, needed: (step: number) => boolean = () => true,
): Promise<void> {
  for (let i = 0; i < entry.steps.length; i++) {
    if (entry.progress[i] !== 'done' || !needed(i)) continue;
    for (const r of entry.steps[i]!.resources) {
      const h = ctx.registry.resource(r.kind);
      if (h.persist) await h.persist(r);
    }
  }
}

async function rollBack(ctx: TxnContext, entry: JournalEntry): Promise<void> {
  const { store } = ctx;
  if (entry.phase !== 'rolling-back') setPhase(store, entry.id, 'rolling-back');
  let lastStep = -1;
  for (const { step, resource } of resourcesToUndo(entry)) {
    if (lastStep !== -1 && step !== lastStep) markStep(store, entry.id, lastStep, 'undone');
    lastStep = step;
    failpoint('recover.undo.resource.before');
    await ctx.registry.resource(resource.kind).undo(resource);
    failpoint('recover.undo.resource.after');
  }
  if (lastStep !== -1) markStep(store, entry.id, lastStep, 'undone');
  // Steps that started but declared no resources have nothing recovery can undo.
  const handler = ctx.registry.operation(entry.kind);
  if (handler?.afterRollback) await handler.afterRollback(loadEntry(store, entry.id), store);
  failpoint('recover.close.before');
  finishEntry(store, entry.id, 'rolled-back', true);
}

async function rollForward(ctx: TxnContext, entry: JournalEntry): Promise<void> {
  const handler = ctx.registry.operation(entry.kind);
  if (!handler?.commitForward) {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE,
      `no roll-forward handler for interrupted operation '${entry.kind}'`);
  }
  await persistResources(ctx, entry);
  const pending = hasFinalizers(ctx, entry);
  ctx.store.transaction(() => {
    handler.commitForward!(entry, ctx.store);
    finishEntry(ctx.store, entry.id, 'rolled-forward', !pending);
  });
  if (pending) {
    await finalizeResources(ctx, entry);
    failpoint('recover.close.before');
    closeEntry(ctx.store, entry.id);
  }
}

async function chooseDirection(ctx: TxnContext, entry: JournalEntry): Promise<RecoveryDirection> {
  const handler = ctx.registry.operation(entry.kind);
  if (handler?.decide) return handler.decide(entry, ctx.store);
  if (entry.phase === 'switching' || entry.phase === 'switched') {
    // Rolling back resources after an unknown switch could pull disks from under a guest.
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE,
      `operation '${entry.kind}' was interrupted during its switch and no recovery handler can tell whether it happened`);
  }
  return 'back';
}

/** Records why a committed entry's post-commit work failed again, warns, and reports it as failed (still open). */
function pendingReport(ctx: TxnContext, entry: JournalEntry, err: unknown): RecoveryReport {
  setPhase(ctx.store, entry.id, entry.phase, message(err));
  ctx.warn(`${describePending(entry)} is still not finished: ${message(err)}; it is retried before every operation on the domain`);
  // A report field, not thrown: a non-Error thrown value is kept as an Error's message.
  return { id: entry.id, kind: entry.kind, domainUuid: entry.domain.uuid, action: 'failed', error: err instanceof Error ? err : new Error(String(err)) };
}

/** Finishes one open entry; the caller holds its domain's lock. */
export async function recoverEntry(ctx: TxnContext, entry: JournalEntry): Promise<RecoveryReport> {
  const base = { id: entry.id, kind: entry.kind, domainUuid: entry.domain.uuid };
  failpoint('recover.entry.before');
  if (entry.outcome === 'committed' || entry.outcome === 'rolled-forward') {
    await finalizeResources(ctx, entry);
    failpoint('recover.close.before');
    closeEntry(ctx.store, entry.id);
    return { ...base, action: 'finalize' };
  }
  const direction = await chooseDirection(ctx, entry);
  if (direction === 'forward') await rollForward(ctx, entry);
  else await rollBack(ctx, entry);
  return { ...base, action: direction };
}

/**
 * Recovers the open entries of the locked domain, oldest first. Throws (VIR_ERR_OPERATION_FAILED)
 * on the first entry it cannot finish: nothing else may run on a domain in an unknown state.
 */
export async function recoverDomain(ctx: TxnContext, lock: DomainLock): Promise<RecoveryReport[]> {
  if (!lock.held) throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE, 'recovery needs the domain lock held');
  const out: RecoveryReport[] = [];
  const held = new Set([lock.uuid.toLowerCase()]);
  // Its own entries, then the group entries it is a member of (journaled under another domain).
  for (const entry of [...openEntries(ctx.store, lock.uuid), ...openMemberEntries(ctx.store, lock.uuid)]) {
    // A group entry needs its other domains' locks as well: when one is busy the entry is
    // left open, and runOperation refuses to run on a domain it spans until it is finished.
    const others = tryLockEntryDomains(ctx, entry, held);
    if (!others) continue;
    try {
      out.push(await recoverEntry(ctx, entry));
    } catch (err) {
      if (isCommittedEntry(entry)) {
        // Committed: the domain is in a known state, only post-commit work is left. It does
        // not block the domain; operations on its files are refused (pending-work.ts).
        out.push(pendingReport(ctx, entry, err));
        continue;
      }
      throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.NONE,
        `cannot recover interrupted ${entry.kind} of domain '${entry.domain.name}' (journal entry ${entry.id}): ${message(err)}`);
    } finally {
      releaseAll(others);
    }
  }
  return out;
}

/**
 * Recovers every open entry in the store (call on open). A domain whose lock is held by a
 * live process is skipped: its entry is an operation in progress. Failures are reported
 * per entry and leave that entry open; they do not stop the others.
 */
export async function recover(ctx: TxnContext): Promise<RecoveryReport[]> {
  // A job record's half-written copy from a writer killed before its rename (job-file.ts).
  removeDeadWriterTemps(ctx.lockDir, (base) => base.endsWith('.job'));
  const out: RecoveryReport[] = [];
  const domains = [...new Set(openEntries(ctx.store).map((e) => e.domain.uuid))];
  for (const uuid of domains) {
    const lock = tryAcquireDomainLock(ctx.lockDir, uuid, 'recovery');
    if (!lock) {
      for (const e of openEntries(ctx.store, uuid)) out.push({ id: e.id, kind: e.kind, domainUuid: uuid, action: 'skipped' });
      continue;
    }
    try {
      // Re-read under the lock: the entries may have been finished meanwhile.
      const held = new Set([uuid.toLowerCase()]);
      for (const entry of openEntries(ctx.store, uuid)) {
        // A group entry is finished holding every member's lock; a busy member leaves it
        // (and, since later entries assume it finished, the rest of this domain's) for later.
        const others = tryLockEntryDomains(ctx, entry, held);
        if (!others) {
          out.push({ id: entry.id, kind: entry.kind, domainUuid: uuid, action: 'skipped' });
          break;
        }
        try {
          out.push(await recoverEntry(ctx, entry));
        } catch (err) {
          if (isCommittedEntry(entry)) {
            out.push(pendingReport(ctx, entry, err));
            continue; // independent of later entries: those touching its files were refused
          }
          ctx.warn(`cannot recover journal entry ${entry.id} (${entry.kind} of '${entry.domain.name}'): ${message(err)}`);
          // A report field, not thrown: a non-Error thrown value is kept as an Error's message.
          out.push({ id: entry.id, kind: entry.kind, domainUuid: uuid, action: 'failed', error: err instanceof Error ? err : new Error(String(err)) });
          break; // later entries of this domain assume this one finished
        } finally {
          releaseAll(others);
        }
      }
    } finally {
      lock.release();
    }
  }
  // Closed entries are only diagnostics; keep the newest so the table does not grow
  // forever. In batches: pruning at every open deleted the one entry each mutating command
  // had added since, one more fsynced commit per command once the journal was full.
  if (ctx.store.journal.count() > JOURNAL_KEEP + JOURNAL_PRUNE_BATCH) ctx.store.journal.prune(JOURNAL_KEEP);
  return out;
}

/** How many closed journal entries recover() keeps for diagnosis (up to JOURNAL_PRUNE_BATCH more between prunes). */
export const JOURNAL_KEEP = 1000;

/** How many new journal entries recover() lets accumulate past JOURNAL_KEEP before it prunes them together. */
export const JOURNAL_PRUNE_BATCH = 100;
