/**
 * virDomainGetJobInfo, virDomainGetJobStats and virDomainAbortJob for the QEMU driver:
 * the job record beside the domain's lock (src/txn/domain-job.ts), whichever process runs
 * the job. As libvirt's QEMU driver, a shut-off domain without a job is "not running";
 * unlike it, an offline delete's merges are a job of a shut-off domain, and shown.
 */
import { activeDomainJob, abortDomainJob, readJobRecord, type TxnContext } from '../../../txn/index.js';
import type { DomainRef } from '../../driver.js';
import { DomainJobStatsFlags, jobInfoOf, jobStatsOf, type DomainJobInfo, type DomainJobStats } from '../../domain-job-info.js';
import { checkQemuFlags } from '../qemu-flags.js';
import { loadDomainRecord } from '../catalog/snapshot-catalog.js';
import { domainNotRunning } from '../qmp/domain-monitor.js';
import { isDomainRunning } from './active-domains.js';

/** The running job, after libvirt's checks: the domain exists, and runs unless a job of its own is under way. */
async function runningJob(ctx: TxnContext, dom: DomainRef): Promise<ReturnType<typeof activeDomainJob>> {
  loadDomainRecord(ctx.store, dom);
  const job = activeDomainJob(ctx.lockDir, dom.uuid);
  if (!job && !(await isDomainRunning(ctx, dom.uuid))) throw domainNotRunning();
  return job;
}

/** virDomainGetJobInfo. */
export async function domainJobInfo(ctx: TxnContext, dom: DomainRef): Promise<DomainJobInfo> {
  return jobInfoOf(await runningJob(ctx, dom), Date.now());
}

/** virDomainGetJobStats; COMPLETED asks for the last job that ended (kept: KEEP_COMPLETED is implied). */
export async function domainJobStats(ctx: TxnContext, dom: DomainRef, flags: number): Promise<DomainJobStats> {
  checkQemuFlags(flags, 'getJobStats');
  if (flags & DomainJobStatsFlags.COMPLETED) {
    loadDomainRecord(ctx.store, dom);
    const last = readJobRecord(ctx.lockDir, dom.uuid);
    return jobStatsOf(last?.ended === undefined ? undefined : last, Date.now());
  }
  return jobStatsOf(await runningJob(ctx, dom), Date.now());
}

/** virDomainAbortJob: the job rolls back; refused past its commit point. */
export async function domainAbortJob(ctx: TxnContext, dom: DomainRef): Promise<void> {
  await runningJob(ctx, dom);
  await abortDomainJob(ctx.lockDir, dom.uuid);
}
export type { DomainJobInfo, DomainJobStats } from '../../domain-job-info.js';
