/** A domain lock held for a job: the job's record is written only by the lock's holder, so two waiting operations never overwrite each other's. */
import type { TxnContext } from './context.js';
import type { DomainLock } from './domain-lock.js';
import { runDomainJob, type JobDescription } from './domain-job.js';
import { lockDomain } from './operation.js';

/** lockDomain, with `fn` run as the domain's job `desc` once the lock is held. */
export function lockDomainJob<T>(
  ctx: TxnContext, uuid: string, operation: string, desc: JobDescription, fn: (lock: DomainLock) => Promise<T>,
): Promise<T> {
  return lockDomain(ctx, uuid, operation, (lock) => runDomainJob(ctx.lockDir, uuid, desc, () => fn(lock)));
}
