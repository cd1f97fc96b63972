/**
 * A domain's job record: `locks/<uuid>.job`, beside the domain lock, so that every process
 * on the host (the CLI, snapvirtd, another library user) sees the operation that holds
 * the lock, its progress, and whether it can still be aborted. The file is rewritten
 * whole with a rename (a reader never sees half a record) and kept after the job ends,
 * with its final phase, so an aborter can tell what became of the job it asked to stop.
 * An abort request is a second file, `locks/<uuid>.job-abort`, naming the job's id: the
 * aborter never writes the record, only its owner does.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** running → (committing → committed | aborting → aborted) | failed | completed. */
export type JobPhase = 'running' | 'committing' | 'committed' | 'aborting' | 'aborted' | 'failed' | 'completed';

/** The phases after which the job holds nothing any more. */
export const FINAL_PHASES: ReadonlySet<JobPhase> = new Set(['aborted', 'failed', 'completed']);

/** Bytes of a job's progress, as virDomainJobInfo counts them. */
export interface JobProgress {
  dataTotal?: number;
  dataProcessed?: number;
  memTotal?: number;
  memProcessed?: number;
  /** Bytes per second of the memory transfer, as QEMU reports it. */
  memBps?: number;
}

/** What the file holds. */
export interface JobRecord extends JobProgress {
  id: string;
  pid: number;
  bootId: string;
  /** virDomainJobOperation: 6 snapshot, 7 snapshot revert, 10 snapshot delete. */
  operation: number;
  /** The job's name in messages: 'snapshot', 'snapshot revert', 'snapshot delete'. */
  name: string;
  /** Epoch milliseconds. */
  started: number;
  phase: JobPhase;
  /** false: the job cannot be aborted at all (its commit point comes first). */
  abortable: boolean;
  ended?: number;
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The record's and the abort request's paths; only a well-formed uuid becomes a file name. */
export function jobPaths(lockDir: string, uuid: string): { record: string; abort: string } {
  if (!UUID_RE.test(uuid)) return { record: join(lockDir, 'invalid.job'), abort: join(lockDir, 'invalid.job-abort') };
  const base = join(lockDir, uuid.toLowerCase());
  return { record: `${base}.job`, abort: `${base}.job-abort` };
}

/** The domain's last job record, or undefined when there is none (or it cannot be read). */
export function readJobRecord(lockDir: string, uuid: string): JobRecord | undefined {
  try {
    const data = JSON.parse(readFileSync(jobPaths(lockDir, uuid).record, 'utf8')) as Partial<JobRecord>;
    return typeof data.id === 'string' && typeof data.pid === 'number' && typeof data.phase === 'string' ? data as JobRecord : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces the record at once (write beside it, rename over it). */
export function writeJobRecord(lockDir: string, uuid: string, record: JobRecord): void {
  const { record: path } = jobPaths(lockDir, uuid);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
  renameSync(tmp, path);
}

/** The id of the job an abort was asked for, if any. */
export function readAbortRequest(lockDir: string, uuid: string): string | undefined {
  try {
    return readFileSync(jobPaths(lockDir, uuid).abort, 'utf8');
  } catch {
    return undefined;
  }
}

/** Asks job `id` to abort. */
export function writeAbortRequest(lockDir: string, uuid: string, id: string): void {
  writeFileSync(jobPaths(lockDir, uuid).abort, id, { mode: 0o600 });
}

/** Clears an abort request (a job's start and end: a request never outlives its job). */
export function clearAbortRequest(lockDir: string, uuid: string): void {
  rmSync(jobPaths(lockDir, uuid).abort, { force: true });
}
