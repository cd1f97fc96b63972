/**
 * virDomainGetBlockJobInfo and virDomainBlockJobAbort on a running QEMU: the disk's job
 * as query-block-jobs reports it (snapvirt's own jobs carry the disk in their id; other
 * jobs are matched by their device), and block-job-cancel / block-job-complete on it.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { BlockJobAbortFlags as A, BlockJobInfoFlags as I, BlockJobType } from '../../../api/flags.js';
import { lockDomain, type TxnContext } from '../../../txn/index.js';
import type { BlockJobInfo } from '../../block-driver.js';
import type { DomainRef } from '../../driver.js';
import { liveDef, requireRunning } from '../domain/active-domains.js';
import { readActiveChain } from '../qmp/active-chain.js';
import { commitJobId, isJobEnd } from '../qmp/block-commit.js';
import { streamJobId } from '../qmp/block-stream.js';
import { withMonitor } from '../qmp/domain-monitor.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import { expectArray, isJsonObject, optionalString } from '../qmp/qmp-json.js';
import { checkQemuFlags } from '../qemu-flags.js';
import { diskByName } from './block-disk.js';

/** One job of query-block-jobs that belongs to a disk. */
export interface DiskJob {
  id: string;
  type: string;
  ready: boolean;
  offset: number;
  len: number;
  speed: number;
  /** The commit's top is the disk's active layer (an active commit reports type "commit" too). */
  active: boolean;
}

/** The job of disk `target`, if QEMU runs one. */
export async function diskJob(qmp: QmpClient, target: string): Promise<DiskJob | undefined> {
  const chain = (await readActiveChain(qmp)).find((c) => c.target === target);
  const ids = new Set([commitJobId(target), streamJobId(target), chain?.nodeName]);
  for (const j of expectArray(await qmp.execute('query-block-jobs'), 'query-block-jobs')) {
    if (!isJsonObject(j)) continue;
    const id = optionalString(j, 'device') ?? '';
    if (!ids.has(id)) continue;
    const num = (k: string): number => (typeof j[k] === 'number' ? j[k] : 0);
    const type = optionalString(j, 'type') ?? '';
    return { id, type, ready: j.ready === true, offset: num('offset'), len: num('len'), speed: num('speed'), active: type === 'mirror' || j.ready === true };
  }
  return undefined;
}

function libvirtType(job: DiskJob): number {
  switch (job.type) {
    case 'stream': return BlockJobType.PULL;
    case 'commit': return job.active ? BlockJobType.ACTIVE_COMMIT : BlockJobType.COMMIT;
    case 'mirror': return BlockJobType.COPY;
    case 'backup': return BlockJobType.BACKUP;
    default: return BlockJobType.UNKNOWN;
  }
}

/** virDomainGetBlockJobInfo: null when the disk has no job. */
export async function getBlockJobInfoLive(ctx: TxnContext, dom: DomainRef, disk: string, flags: number): Promise<BlockJobInfo | null> {
  checkQemuFlags(flags, 'getBlockJobInfo');
  const rt = await requireRunning(ctx, dom);
  const target = diskByName(liveDef(ctx, dom), disk).target;
  const job = await withMonitor(rt.runtimeDir, (qmp) => diskJob(qmp, target));
  if (!job) return null;
  const bandwidth = flags & I.BANDWIDTH_BYTES ? job.speed : Math.floor(job.speed / (1024 * 1024));
  return { type: libvirtType(job), bandwidth, cur: job.offset, end: job.len, ready: job.ready };
}

/**
 * virDomainBlockJobAbort: cancels the disk's job (waiting for it to end unless ASYNC), or
 * with PIVOT completes a ready one. A job snapvirt journaled is never left behind by a
 * living caller; one a killed process left is finished by recovery before this runs.
 */
export async function blockJobAbortLive(ctx: TxnContext, dom: DomainRef, disk: string, flags: number): Promise<void> {
  checkQemuFlags(flags, 'blockJobAbort');
  // Under the lock, which first finishes any job a killed snapvirt journaled: only others' jobs remain.
  await lockDomain(ctx, dom.uuid, 'blockjob', async () => {
    const rt = await requireRunning(ctx, dom);
    const target = diskByName(liveDef(ctx, dom), disk).target;
    await withMonitor(rt.runtimeDir, async (qmp) => {
      const job = await diskJob(qmp, target);
      if (!job) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.QEMU, `disk ${target} does not have an active block job`);
      if (flags & A.PIVOT) {
        if (!job.ready) throw virError(VirErrorCode.BLOCK_COPY_ACTIVE, VirErrorDomain.QEMU, `block job '${job.id}' not ready for pivot yet`);
        await qmp.execute('block-job-complete', { device: job.id });
        return;
      }
      const ended = qmp.waitForEvent((ev) => isJobEnd(ev, job.id), 6 * 3600_000);
      ended.catch(() => undefined);
      await qmp.execute('block-job-cancel', { device: job.id, force: true });
      if (!(flags & A.ASYNC)) await ended;
    });
  });
}
