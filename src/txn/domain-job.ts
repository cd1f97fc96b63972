/**
 * Jobs: a long operation on a domain (a memory snapshot, a revert, a delete's merges) as
 * other processes see it, in libvirt's terms (virDomainGetJobInfo, virDomainAbortJob).
 * The record lives beside the domain lock (job-file.ts); the operation's deep code finds
 * its job through AsyncLocalStorage (currentJob), reports progress and checks for an
 * abort where it waits anyway (a migration's or a block job's polling).
 *
 * An abort is a rollback: the job throws libvirt's "operation aborted" error from where
 * it stands, and runOperation undoes what was prepared, as for any failure before the
 * commit point. runOperation calls passCommitPoint() right before the switch or commit:
 * the last moment an abort is honoured. The aborter waits for the job to say which way it
 * went (aborting, or past its commit point), so an abort that returns success did abort.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';
import { currentBootId, isHolderDead } from './domain-lock.js';
import {
  clearAbortRequest, FINAL_PHASES, readAbortRequest, readJobRecord, writeAbortRequest, writeJobRecord,
  type JobProgress, type JobRecord,
} from './job-file.js';

/** virDomainJobOperation values of the jobs snapvirt runs. */
export const JobOperation = { SNAPSHOT: 6, SNAPSHOT_REVERT: 7, SNAPSHOT_DELETE: 10 } as const;

/** How a job is described when it starts. */
export interface JobDescription {
  operation: number;
  name: string;
  /** false for a job whose commit point comes before its long part (a delete's merges). */
  abortable: boolean;
}

/** A live snapshot (libvirt's snapshot job): abortable until its switch or commit. */
export const SNAPSHOT_JOB: JobDescription = { operation: JobOperation.SNAPSHOT, name: 'snapshot', abortable: true };
/** A revert that loads a machine state or starts a new QEMU: abortable until its commit. */
export const SNAPSHOT_REVERT_JOB: JobDescription = { operation: JobOperation.SNAPSHOT_REVERT, name: 'snapshot revert', abortable: true };
/** A shut-off domain's delete: its commit point (the metadata) comes before its merges, so never abortable. */
export const SNAPSHOT_DELETE_JOB: JobDescription = { operation: JobOperation.SNAPSHOT_DELETE, name: 'snapshot delete', abortable: false };
/** A running domain's delete: its merges are undoable and come before its commit point, so abortable until then. */
export const LIVE_SNAPSHOT_DELETE_JOB: JobDescription = { operation: JobOperation.SNAPSHOT_DELETE, name: 'snapshot delete', abortable: true };

/** Progress is written at most this often (ms): readers poll, the record need not follow every byte. */
const PROGRESS_INTERVAL_MS = 100;

/** The job of the operation running in this async context. */
export class RunningJob {
  readonly #lockDir: string;
  readonly #uuid: string;
  #record: JobRecord;
  #written = 0;

  constructor(lockDir: string, uuid: string, record: JobRecord) {
    this.#lockDir = lockDir;
    this.#uuid = uuid;
    this.#record = record;
  }

  /** Records progress (throttled). */
  progress(p: JobProgress): void {
    this.#record = { ...this.#record, ...p };
    const now = Date.now();
    if (now - this.#written < PROGRESS_INTERVAL_MS) return;
    this.#write();
  }

  /** True when an abort was asked for and may still be honoured. */
  abortRequested(): boolean {
    return this.#record.abortable && this.#record.phase === 'running' && readAbortRequest(this.#lockDir, this.#uuid) === this.#record.id;
  }

  /** Marks the job as aborting and returns libvirt's error for the operation to throw. */
  aborted(): Error {
    this.#set('aborting');
    return virError(VirErrorCode.OPERATION_ABORTED, VirErrorDomain.QEMU, `job '${this.#record.name}' canceled by client`);
  }

  /** Throws the aborted error when an abort was asked for. */
  checkAbort(): void {
    if (this.abortRequested()) throw this.aborted();
  }

  /**
   * The switch or commit is next: the last chance to abort. The phase goes to committing
   * before the request is read, so an aborter that sees committing knows its request is
   * either seen here or refused.
   */
  passCommitPoint(): void {
    if (this.#record.phase !== 'running') return;
    const asked = this.abortRequested();
    this.#set('committing');
    if (asked || readAbortRequest(this.#lockDir, this.#uuid) === this.#record.id) throw this.aborted();
    this.#set('committed');
  }

  /** The job's final phase. */
  end(phase: 'aborted' | 'failed' | 'completed'): void {
    this.#record = { ...this.#record, ended: Date.now() };
    this.#set(phase);
  }

  get phase(): JobRecord['phase'] {
    return this.#record.phase;
  }

  #set(phase: JobRecord['phase']): void {
    this.#record = { ...this.#record, phase };
    this.#write();
  }

  #write(): void {
    this.#written = Date.now();
    writeJobRecord(this.#lockDir, this.#uuid, this.#record);
  }
}

const jobs = new AsyncLocalStorage<RunningJob>();

/** The job of the operation this code runs in, if any. */
export function currentJob(): RunningJob | undefined {
  return jobs.getStore();
}

/** Runs `fn` as the domain's job (under its domain lock, or about to take it). A nested call runs in the outer job. */
export async function runDomainJob<T>(lockDir: string, uuid: string, desc: JobDescription, fn: () => Promise<T>): Promise<T> {
  if (currentJob()) return fn();
  clearAbortRequest(lockDir, uuid);
  const job = new RunningJob(lockDir, uuid, {
    id: randomUUID(), pid: process.pid, bootId: currentBootId(), ...desc, started: Date.now(), phase: 'running',
  });
  job.progress({});
  try {
    const result = await jobs.run(job, fn);
    job.end('completed');
    return result;
  } catch (err) {
    job.end(job.phase === 'aborting' ? 'aborted' : 'failed');
    throw err;
  } finally {
    clearAbortRequest(lockDir, uuid);
  }
}

/** The domain's job while it runs (its owner alive, not ended), else undefined. */
export function activeDomainJob(lockDir: string, uuid: string): JobRecord | undefined {
  const rec = readJobRecord(lockDir, uuid);
  if (!rec || FINAL_PHASES.has(rec.phase) || isHolderDead({ pid: rec.pid, bootId: rec.bootId, operation: rec.name, since: '' })) return undefined;
  return rec;
}

function noJob(): Error {
  return virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, 'no job is active on the domain');
}

function pastCommitPoint(rec: JobRecord): Error {
  return virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, `cannot abort ${rec.name} job: its commit point has passed`);
}

/** How often an aborter looks at the job's answer (ms). */
const ABORT_POLL_MS = 20;

/**
 * Asks the domain's job to abort and waits for its answer: resolves once the job is rolling
 * back (or its process died before the commit point, which recovery rolls back); refuses a
 * job with no job, one that cannot abort, and one past its commit point.
 */
export async function abortDomainJob(lockDir: string, uuid: string): Promise<void> {
  const rec = activeDomainJob(lockDir, uuid);
  if (!rec) throw noJob();
  if (!rec.abortable || rec.phase === 'committed') throw pastCommitPoint(rec);
  if (rec.phase === 'aborting') return;
  writeAbortRequest(lockDir, uuid, rec.id);
  for (;;) {
    const now = readJobRecord(lockDir, uuid);
    if (!now || now.id !== rec.id || now.phase === 'aborting' || now.phase === 'aborted') return;
    if (now.phase === 'committed' || now.phase === 'completed') throw pastCommitPoint(rec);
    // Failed before its commit point for another reason: rolled back all the same.
    if (now.phase === 'failed') return;
    if (isHolderDead({ pid: now.pid, bootId: now.bootId, operation: now.name, since: '' })) return;
    await sleep(ABORT_POLL_MS);
  }
}
