/**
 * The intent journal: one entry per mutating operation, written (and committed, so
 * durable) before any side effect, updated as each step starts and ends, and closed in the
 * same SQLite transaction as the operation's commit. An entry still open at start-up is an
 * operation that was interrupted; recovery.ts finishes it.
 */
import { VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import type { Store } from '../store/store.js';
import type { JournalOutcome, JournalRecord } from '../store/records.js';
import type { JsonValue, Resource } from './resources.js';

/** Where an operation is in the protocol. */
export type JournalPhase =
  | 'journaled' | 'preparing' | 'prepared' | 'switching' | 'switched'
  | 'committed' | 'rolling-back' | 'rollback-failed' | 'rolled-back' | 'rolled-forward' | 'abandoned';

/** A step's durable progress: `started` means its side effects may partly exist. */
export type StepState = 'pending' | 'started' | 'done' | 'undone';

/** A planned step as the journal records it: its name and the resources it touches. */
export interface PlannedStep {
  name: string;
  resources: Resource[];
}

/** A decoded journal entry. */
export interface JournalEntry {
  id: number;
  kind: string;
  domain: { uuid: string; name: string };
  /**
   * The other domains the entry spans (a group operation), in the canonical lock order;
   * empty for a single-domain operation. Recovery takes their locks too.
   */
  members: { uuid: string; name: string }[];
  /** The driver's own description of the operation (what commit would write, and so on). */
  intent: JsonValue;
  steps: PlannedStep[];
  /** Post-commit work: finished after the commit point (and by recovery), never undone. */
  finalize: Resource[];
  progress: StepState[];
  phase: JournalPhase;
  outcome: JournalOutcome | null;
  closed: boolean;
  error: string | null;
  createdAt: string;
}

interface StoredIntent {
  data: JsonValue;
  steps: PlannedStep[];
  /** Absent in entries written before post-commit work had its own place (it rode on an empty step). */
  finalize?: Resource[];
  /** The other domains of a group operation; absent for one domain. */
  members?: { uuid: string; name: string }[];
}

function decode(rec: JournalRecord): JournalEntry {
  const intent = JSON.parse(rec.intent) as StoredIntent;
  return {
    id: rec.id,
    kind: rec.kind,
    domain: { uuid: rec.domainUuid, name: rec.domainName },
    members: intent.members ?? [],
    intent: intent.data,
    steps: intent.steps,
    finalize: intent.finalize ?? [],
    progress: JSON.parse(rec.progress) as StepState[],
    phase: rec.phase as JournalPhase,
    outcome: rec.outcome,
    closed: rec.closedAt !== null,
    error: rec.error,
    createdAt: rec.createdAt,
  };
}

/** The intent column's JSON (post-commit work only when there is some: older entries have none). */
function storedIntent(data: JsonValue, steps: PlannedStep[], finalize: Resource[], members: { uuid: string; name: string }[] = []): string {
  return JSON.stringify({
    data, steps, ...(finalize.length > 0 ? { finalize } : {}), ...(members.length > 0 ? { members } : {}),
  } satisfies StoredIntent);
}

function mustLoad(store: Store, id: number): JournalEntry {
  const rec = store.journal.get(id);
  if (!rec) throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE, `no journal entry ${id}`);
  return decode(rec);
}

/** What beginEntry records. */
export interface NewIntent {
  kind: string;
  domain: { uuid: string; name: string };
  intent: JsonValue;
  steps: PlannedStep[];
  /** Post-commit resources (OperationSpec.finalize). */
  finalize?: Resource[];
  /** The other domains of a group operation (OperationSpec.members). */
  members?: { uuid: string; name: string }[];
}

/** How beginEntry starts an entry. */
export interface BeginOptions {
  /**
   * Record the entry as already preparing, its first step started, in the same commit:
   * for a runner that starts the first step at once, this saves two fsynced commits and
   * claims nothing more than the truth a moment later ('started' means "may partly
   * exist"; undo tolerates absence).
   */
  startFirstStep?: boolean;
}

/** Writes a new entry and commits it: when this returns, the intent is on disk. */
export function beginEntry(store: Store, entry: NewIntent, opts: BeginOptions = {}): JournalEntry {
  const start = opts.startFirstStep === true;
  const id = store.transaction(() => store.journal.insert({
    kind: entry.kind,
    domainUuid: entry.domain.uuid,
    domainName: entry.domain.name,
    intent: storedIntent(entry.intent, entry.steps, entry.finalize ?? [], entry.members ?? []),
    progress: JSON.stringify(entry.steps.map((_, i): StepState => (start && i === 0 ? 'started' : 'pending'))),
    phase: start ? 'preparing' : 'journaled',
  }));
  return mustLoad(store, id);
}

/** Reads one entry. */
export function loadEntry(store: Store, id: number): JournalEntry {
  return mustLoad(store, id);
}

/** The unclosed entries, oldest first (all domains, or one). */
export function openEntries(store: Store, domainUuid?: string): JournalEntry[] {
  return store.journal.listOpen(domainUuid).map(decode);
}

/** The unclosed entries of group operations that span `domainUuid` as a member other than their first. */
export function openMemberEntries(store: Store, domainUuid: string): JournalEntry[] {
  const uuid = domainUuid.toLowerCase();
  return openEntries(store).filter((e) => e.members.some((m) => m.uuid.toLowerCase() === uuid));
}

/** Durably records a step's new state. */
export function markStep(store: Store, id: number, index: number, state: StepState): void {
  store.transaction(() => {
    const cur = mustLoad(store, id);
    const progress = [...cur.progress];
    progress[index] = state;
    store.journal.update(id, { progress: JSON.stringify(progress) });
  });
}

/**
 * Durably records several steps' new states, and optionally the entry's phase, in ONE
 * commit: one step ending and the next starting (or the last ending and the entry
 * becoming prepared) is one fsync, not two.
 */
export function markSteps(store: Store, id: number, states: readonly (readonly [number, StepState])[], phase?: JournalPhase): void {
  store.transaction(() => {
    const cur = mustLoad(store, id);
    const progress = [...cur.progress];
    for (const [index, state] of states) progress[index] = state;
    store.journal.update(id, phase === undefined ? { progress: JSON.stringify(progress) } : { progress: JSON.stringify(progress), phase });
  });
}

/** Durably adds a resource to a step, before the step creates it. */
export function addStepResource(store: Store, id: number, index: number, resource: Resource): void {
  store.transaction(() => {
    const cur = mustLoad(store, id);
    const steps = cur.steps.map((s, i) => (i === index ? { ...s, resources: [...s.resources, resource] } : s));
    store.journal.update(id, { intent: storedIntent(cur.intent, steps, cur.finalize, cur.members) });
  });
}

/** Durably records the entry's phase (and, when given, the error that caused it). */
export function setPhase(store: Store, id: number, phase: JournalPhase, error?: string): void {
  store.transaction(() => store.journal.update(id, error === undefined ? { phase } : { phase, error }));
}

/**
 * Records the outcome. Call inside the commit transaction for `committed` and
 * `rolled-forward`; `close` false keeps the entry open while post-commit work remains.
 */
export function finishEntry(store: Store, id: number, outcome: JournalOutcome, close: boolean): void {
  store.transaction(() => {
    const phase: JournalPhase = outcome;
    store.journal.update(id, { phase });
    store.journal.setOutcome(id, outcome, close);
  });
}

/** Closes an entry whose outcome is already recorded (post-commit work done). */
export function closeEntry(store: Store, id: number): void {
  store.transaction(() => store.journal.close(id));
}

/**
 * Gives up on an interrupted entry without touching anything it describes: the manual
 * escape hatch for an entry recovery keeps failing on (libvirt users cannot clear a stuck
 * snapshotDeleteInProgress; ours can). Returns false when the entry was already closed.
 */
export function abandonEntry(store: Store, id: number): boolean {
  return store.transaction(() => {
    const cur = mustLoad(store, id);
    if (cur.closed) return false;
    store.journal.update(id, { phase: 'abandoned' });
    store.journal.setOutcome(id, 'abandoned', true);
    return true;
  });
}

/** The resources of the steps that may have had effects (started, done), latest first. */
export function resourcesToUndo(entry: JournalEntry): { step: number; resource: Resource }[] {
  const out: { step: number; resource: Resource }[] = [];
  for (let i = entry.steps.length - 1; i >= 0; i--) {
    const state = entry.progress[i];
    if (state !== 'started' && state !== 'done') continue;
    const resources = entry.steps[i]!.resources;
    for (let j = resources.length - 1; j >= 0; j--) out.push({ step: i, resource: resources[j]! });
  }
  return out;
}

/** Every resource an entry names: its steps' (in order), then its post-commit work. */
export function resourcesOf(entry: JournalEntry): Resource[] {
  return [...entry.steps.flatMap((s) => s.resources), ...entry.finalize];
}
