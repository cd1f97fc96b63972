/**
 * virDomainGetJobInfo's and virDomainGetJobStats's results, and how a job record becomes
 * them: the fields libvirt's QEMU driver fills for a snapshot job (an unbounded job: its
 * operation, time elapsed, data and memory counters when the job has them).
 */
import type { JobRecord } from '../txn/index.js';

/** virDomainJobType. */
export const DomainJobType = { NONE: 0, BOUNDED: 1, UNBOUNDED: 2, COMPLETED: 3, FAILED: 4, CANCELLED: 5 } as const;

/** virDomainGetJobStatsFlags. */
export const DomainJobStatsFlags = { COMPLETED: 1, KEEP_COMPLETED: 2 } as const;

/** virDomainJobInfo: times in milliseconds, sizes in bytes. */
export interface DomainJobInfo {
  type: number;
  timeElapsed: number;
  timeRemaining: number;
  dataTotal: number;
  dataProcessed: number;
  dataRemaining: number;
  memTotal: number;
  memProcessed: number;
  memRemaining: number;
  fileTotal: number;
  fileProcessed: number;
  fileRemaining: number;
}

/** One typed parameter of a job's statistics (VIR_TYPED_PARAM_INT or _ULLONG). */
export interface JobStatParam {
  field: string;
  type: 'int' | 'ullong';
  value: number;
}

/** virDomainGetJobStats's result. */
export interface DomainJobStats {
  type: number;
  params: JobStatParam[];
}

const NONE_INFO: DomainJobInfo = {
  type: DomainJobType.NONE, timeElapsed: 0, timeRemaining: 0, dataTotal: 0, dataProcessed: 0, dataRemaining: 0,
  memTotal: 0, memProcessed: 0, memRemaining: 0, fileTotal: 0, fileProcessed: 0, fileRemaining: 0,
};

/** The type a record reports: a running job is unbounded, an ended one as it ended. */
function typeOf(rec: JobRecord): number {
  if (rec.phase === 'completed') return DomainJobType.COMPLETED;
  if (rec.phase === 'aborted') return DomainJobType.CANCELLED;
  if (rec.phase === 'failed') return DomainJobType.FAILED;
  return DomainJobType.UNBOUNDED;
}

/** The job info of `rec` (undefined: no job) at time `now` (epoch ms). */
export function jobInfoOf(rec: JobRecord | undefined, now: number): DomainJobInfo {
  if (!rec) return { ...NONE_INFO };
  const dataTotal = rec.dataTotal ?? 0;
  const dataProcessed = Math.min(rec.dataProcessed ?? 0, dataTotal);
  const memTotal = rec.memTotal ?? 0;
  const memProcessed = Math.min(rec.memProcessed ?? 0, memTotal);
  return {
    ...NONE_INFO,
    type: typeOf(rec),
    timeElapsed: Math.max(0, (rec.ended ?? now) - rec.started),
    dataTotal, dataProcessed, dataRemaining: dataTotal - dataProcessed,
    memTotal, memProcessed, memRemaining: memTotal - memProcessed,
  };
}

/** The job statistics of `rec`, named as libvirt's VIR_DOMAIN_JOB_* typed parameters. */
export function jobStatsOf(rec: JobRecord | undefined, now: number): DomainJobStats {
  const info = jobInfoOf(rec, now);
  if (!rec) return { type: info.type, params: [] };
  const u = (field: string, value: number): JobStatParam => ({ field, type: 'ullong', value });
  const params: JobStatParam[] = [{ field: 'operation', type: 'int', value: rec.operation }, u('time_elapsed', info.timeElapsed)];
  if (info.dataTotal > 0) params.push(u('data_total', info.dataTotal), u('data_processed', info.dataProcessed), u('data_remaining', info.dataRemaining));
  if (info.memTotal > 0) params.push(u('memory_total', info.memTotal), u('memory_processed', info.memProcessed), u('memory_remaining', info.memRemaining));
  if (rec.memBps !== undefined) params.push(u('memory_bps', rec.memBps));
  return { type: info.type, params };
}
