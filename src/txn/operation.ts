/**
 * The operation runner: the atomic protocol (docs/ARCHITECTURE.md, src/txn/README.md) as one function.
 *
 *   journal → prepare (each step durably marked started/done, each with undo) → switch →
 *   commit (one SQLite transaction: the driver's metadata writes + closing the journal) →
 *   finalize (post-commit work, journaled with the intent, never undone)
 *
 * Any failure before the commit point undoes the started steps in reverse and reports the
 * first error; undo failures are attached (undoErrorsOf) and warned about, never masking
 * it. A crash anywhere leaves an open journal entry that recovery.ts finishes. Failpoints
 * `<kind>.<phase>[.step].before|after` surround every phase and step.
 *
 * Check and lock come before: the driver checks, takes the domain lock with lockDomain()
 * (which also recovers that domain's interrupted operations), re-checks what could have
 * changed, then calls runOperation().
 */
import { currentJob } from './domain-job.js';
import { VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import type { Store } from '../store/store.js';
import type { TxnContext } from './context.js';
import { acquireDomainLock, type DomainLock } from './domain-lock.js';
import { failpoint, isOperationKindDeclared } from './failpoints.js';
import {
  addStepResource, beginEntry, closeEntry, finishEntry, loadEntry, markStep, markSteps, openEntries, openMemberEntries, setPhase,
  type JournalEntry, type StepState,
} from './journal.js';
import { filesOfResource, isCommittedEntry, refusePendingConflicts } from './pending-work.js';
import { finalizeResources, hasFinalizers, persistResources, recoverDomain } from './recovery.js';
import type { JsonValue, Resource } from './resources.js';

/** Passed to a step's do(): lets it journal a resource it only learns about while running. */
export interface StepContext {
  /** Durably records `resource` for this step; call it before creating the resource. */
  addResource(resource: Resource): void;
}

/** One side effect of an operation, with its undo. */
export interface Step {
  /** Names the step in the journal and in errors (e.g. `overlay.vda`). */
  name: string;
  /**
   * What the step creates or changes, as data: journaled before do() runs, so recovery
   * can undo it after a crash. Recovery only undoes what is listed here.
   */
  resources?: Resource[];
  do(ctx: StepContext): Promise<void>;
  /**
   * In-process undo. Optional: without it, the handlers of `resources` undo the step,
   * which is also exactly what recovery does (one code path, exercised by every failure).
   */
  undo?(): Promise<void>;
  /**
   * True when do() itself makes every resource durable (file data and directory entries
   * fsynced) before it returns, so the engine does not persist them again before the
   * commit point (recovery still does before a roll-forward: it cannot know).
   */
  durableWhenDone?: boolean;
}

/** An operation for runOperation(). */
export interface OperationSpec<T> {
  /** The operation kind: one of OPERATION_KINDS or one declared with declareOperationKind(). */
  kind: string;
  /** The domain it changes; must be the locked domain. */
  domain: { uuid: string; name: string };
  /**
   * A group operation's other domains, each with its held lock: the entry is journaled
   * under `domain` (the first in canonical UUID order) and lists them, so recovery takes
   * their locks too and no other operation runs on them while the entry is open.
   */
  members?: { uuid: string; name: string; lock: DomainLock }[];
  /** The driver's description of the operation, journaled as JSON (recovery handlers read it). */
  intent?: JsonValue;
  steps: Step[];
  /** The switch (live: one QMP transaction). Throwing means it did not happen. */
  switch?: () => Promise<void>;
  /** Reverses a switch that happened when the commit then fails; without it the entry is left for recovery. */
  undoSwitch?: () => Promise<void>;
  /** The commit: metadata writes, run inside the one SQLite transaction that closes the journal entry. Synchronous. */
  commit: (store: Store) => T;
  /**
   * Files the operation reads through or builds on without naming them in a resource (the
   * image a new overlay sits on): with its resources' files, checked against pending
   * post-commit work (pending-work.ts).
   */
  touches?: string[];
  /**
   * Post-commit work (removals, merges, dropping a way back): journaled with the intent,
   * never undone (before the commit point nothing of it has happened), finished by the
   * handlers' finalize() right after the commit, and by recovery after a crash.
   */
  finalize?: Resource[];
}

const undoErrors = new WeakMap<object, Error[]>();

/**
 * Marks `err` as thrown by a step that created nothing, so neither the rollback nor a
 * later recovery undoes that step. Returns `err`, for `throw nothingCreated(e)`.
 */
export function nothingCreated<E extends object>(err: E): E & { nothingCreated: true } {
  return Object.assign(err, { nothingCreated: true as const });
}

/** True when `err` was marked by nothingCreated() (or carries `nothingCreated: true`). */
export function isNothingCreated(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { nothingCreated?: unknown }).nothingCreated === true;
}

/** The undo failures that happened while rolling back after `err` (empty when none). */
export function undoErrorsOf(err: unknown): Error[] {
  return (typeof err === 'object' && err !== null && undoErrors.get(err)) || [];
}

function asError(err: unknown): Error {
  // new Error only wraps a thrown non-Error for undo bookkeeping; the caller rethrows the original.
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Takes the domain's lock for `operation` (bounded wait, then a VirError naming the
 * holder), finishes any operation on this domain a crash interrupted, then runs `fn`
 * holding the lock.
 */
export async function lockDomain<T>(
  ctx: TxnContext, domainUuid: string, operation: string, fn: (lock: DomainLock) => Promise<T>,
): Promise<T> {
  const lock = await acquireDomainLock(ctx.lockDir, domainUuid, operation,
    ctx.lockTimeoutMs === undefined ? {} : { timeoutMs: ctx.lockTimeoutMs });
  try {
    await recoverDomain(ctx, lock);
    return await fn(lock);
  } finally {
    lock.release();
  }
}

async function undoStep(ctx: TxnContext, step: Step, entry: JournalEntry, index: number): Promise<void> {
  if (step.undo) {
    await step.undo();
    return;
  }
  const resources = loadEntry(ctx.store, entry.id).steps[index]!.resources;
  for (let j = resources.length - 1; j >= 0; j--) {
    const r = resources[j]!;
    await ctx.registry.resource(r.kind).undo(r);
  }
}

/** Undoes the started steps newest first; returns the undo errors (empty when all went well). */
async function rollBackSteps(ctx: TxnContext, spec: OperationSpec<unknown>, entry: JournalEntry): Promise<Error[]> {
  const errors: Error[] = [];
  const progress = loadEntry(ctx.store, entry.id).progress;
  for (let i = spec.steps.length - 1; i >= 0; i--) {
    if (progress[i] !== 'started' && progress[i] !== 'done') continue;
    const step = spec.steps[i]!;
    try {
      failpoint(`${spec.kind}.undo.step.before`);
      await undoStep(ctx, step, entry, i);
      markStep(ctx.store, entry.id, i, 'undone');
      failpoint(`${spec.kind}.undo.step.after`);
    } catch (err) {
      const e = asError(err);
      ctx.warn(`cannot undo step '${step.name}' of ${spec.kind} on domain '${spec.domain.name}': ${e.message}`);
      errors.push(e);
    }
  }
  return errors;
}

/**
 * Runs an operation all-or-nothing under a held domain lock and returns what commit
 * returned. On failure before the commit point, everything prepared is undone and the
 * first error is thrown.
 */
export async function runOperation<T>(ctx: TxnContext, lock: DomainLock, spec: OperationSpec<T>): Promise<T> {
  const { store } = ctx;
  const members = spec.members ?? [];
  for (const [d, l] of [[spec.domain, lock] as const, ...members.map((m) => [m, m.lock] as const)]) {
    if (!l.held || l.uuid.toLowerCase() !== d.uuid.toLowerCase()) {
      throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE,
        `${spec.kind} on domain '${d.name}' runs without holding its lock`);
    }
  }
  if (store.db.inTransaction) {
    // The journal must be committed before any side effect; inside a caller's transaction it would not be.
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE, `${spec.kind} started inside a store transaction`);
  }
  if (!isOperationKindDeclared(spec.kind)) {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE, `undeclared operation kind '${spec.kind}'`);
  }
  for (const r of [...spec.steps.flatMap((s) => s.resources ?? []), ...spec.finalize ?? []]) {
    ctx.registry.resource(r.kind); // unknown kinds fail before any effect
  }
  // An entry that committed and only has post-commit work left (a merge that met a full
  // disk) does not block the domain: only operations on its files are refused.
  // A group entry is journaled under its first domain and spans the others as members.
  for (const d of [spec.domain, ...members]) {
    if ([...openEntries(store, d.uuid), ...openMemberEntries(store, d.uuid)].some((e) => !isCommittedEntry(e))) {
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.NONE,
        `domain '${d.name}' has an interrupted operation that was not recovered`);
    }
  }
  refusePendingConflicts(ctx, [
    ...spec.touches ?? [],
    ...[...spec.steps.flatMap((s) => s.resources ?? []), ...spec.finalize ?? []].flatMap((r) => filesOfResource(ctx, r)),
  ]);

  const fp = (point: string): void => failpoint(`${spec.kind}.${point}`);
  fp('journal.before');
  // Every durable state below is one commit (one fsync of the WAL): the intent and the
  // first step's start together, then each step's end with the next one's start, then
  // the last step's end with the phase 'prepared' (or, when nothing is left to persist,
  // 'switching'). No failpoint sits between the writes folded together, so every crash
  // point sees exactly the journal it saw with one commit per write.
  const entry = beginEntry(store, {
    kind: spec.kind,
    domain: { uuid: spec.domain.uuid, name: spec.domain.name },
    intent: spec.intent ?? null,
    steps: spec.steps.map((s) => ({ name: s.name, resources: [...(s.resources ?? [])] })),
    finalize: [...spec.finalize ?? []],
    members: members.map((m) => ({ uuid: m.uuid, name: m.name })),
  }, { startFirstStep: true });
  let switched = false;
  let result: T;
  try {
    fp('journal.after');
    for (let i = 0; i < spec.steps.length; i++) {
      const step = spec.steps[i]!;
      if (i > 0) markSteps(store, entry.id, [[i - 1, 'done'], [i, 'started']]);
      fp('prepare.step.before');
      try {
        await step.do({
          addResource: (r) => {
            ctx.registry.resource(r.kind);
            addStepResource(store, entry.id, i, r);
          },
        });
      } catch (err) {
        // A step that provably created nothing (O_EXCL hit someone else's file) must not be
        // undone: its resource at that path is not ours to remove.
        if (isNothingCreated(err)) markStep(store, entry.id, i, 'pending');
        throw err;
      }
      fp('prepare.step.after');
    }
    const last = spec.steps.length - 1;
    const lastDone: [number, StepState][] = last >= 0 ? [[last, 'done']] : [];
    // Durable before the switch, not just before the commit: once a live guest writes to
    // a new overlay, that file must survive a power cut.
    const persistNeeded = (i: number): boolean => spec.steps[i]!.durableWhenDone !== true;
    const toPersist = loadEntry(store, entry.id).steps
      .some((s, i) => persistNeeded(i) && s.resources.some((r) => ctx.registry.resource(r.kind).persist !== undefined));
    if (spec.switch && !toPersist) {
      // Nothing to make durable in between: the last step's end and the switch's start are one commit.
      markSteps(store, entry.id, lastDone, 'switching');
    } else {
      markSteps(store, entry.id, lastDone, 'prepared');
      await persistResources(ctx, loadEntry(store, entry.id), persistNeeded);
      if (spec.switch) setPhase(store, entry.id, 'switching');
    }
    // The last moment a job's abort is honoured: from here on the operation goes forward.
    currentJob()?.passCommitPoint();
    const prepared = loadEntry(store, entry.id);
    if (spec.switch) {
      fp('switch.before');
      await spec.switch();
      switched = true;
      setPhase(store, entry.id, 'switched');
      fp('switch.after');
    }
    fp('commit.before');
    const pending = hasFinalizers(ctx, prepared);
    result = store.transaction(() => {
      const r = spec.commit(store);
      finishEntry(store, entry.id, 'committed', !pending);
      return r;
    });
  } catch (err) {
    await handleFailure(ctx, spec, entry, err, switched);
    throw err;
  }

  // Past the commit point: the operation happened. A failure from here on cannot undo it.
  fp('commit.after');
  const committed = loadEntry(store, entry.id);
  if (!committed.closed) {
    fp('finalize.before');
    try {
      await finalizeResources(ctx, committed);
      closeEntry(store, entry.id);
    } catch (err) {
      // Left open: the next lock or recover() retries it; only operations on its files wait.
      const message = asError(err).message;
      setPhase(store, entry.id, 'committed', message);
      ctx.warn(`${spec.kind} on domain '${spec.domain.name}' is done, but its post-commit work did not finish: ${message}; ` +
        'it is retried before every operation on the domain (snapshot-check reports it)');
    }
    fp('finalize.after');
  }
  return result;
}

async function handleFailure(
  ctx: TxnContext, spec: OperationSpec<unknown>, entry: JournalEntry, err: unknown, switched: boolean,
): Promise<void> {
  const { store } = ctx;
  const first = asError(err);
  const errors: Error[] = [];
  try {
    if (switched) {
      if (!spec.undoSwitch) {
        // The switch happened and cannot be reversed here: recovery decides (forward).
        setPhase(store, entry.id, 'switched', first.message);
        return;
      }
      await spec.undoSwitch();
    }
    setPhase(store, entry.id, 'rolling-back', first.message);
    errors.push(...await rollBackSteps(ctx, spec, entry));
    if (errors.length === 0) finishEntry(store, entry.id, 'rolled-back', true);
    else setPhase(store, entry.id, 'rollback-failed');
  } catch (undoErr) {
    // The journal itself failed (disk full...): the entry stays open for recovery.
    errors.push(asError(undoErr));
    ctx.warn(`rollback of ${spec.kind} on domain '${spec.domain.name}' failed: ${asError(undoErr).message}`);
  } finally {
    if (errors.length > 0 && typeof err === 'object' && err !== null) undoErrors.set(err, errors);
  }
}
