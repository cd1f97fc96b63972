/**
 * virDomainBlockPull and virDomainBlockRebase (without COPY) on a running QEMU domain:
 * the layers above `base` (all, when base is null) are pulled into the disk's active
 * layer with QMP block-stream, journaled as post-commit work (LIVE_PULL) so a killed pull
 * is finished on the next open. Every image keeps its view: nothing a snapshot needs
 * changes, so there is nothing to refuse on its behalf. Returns once the job has ended.
 */
import { BlockRebaseFlags as R } from '../../../api/flags.js';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { lockDomain, refusePendingConflicts, runOperation, type TxnContext } from '../../../txn/index.js';
import type { DomainRef } from '../../driver.js';
import { liveDef, requireRunning } from '../domain/active-domains.js';
import { BLOCK_PULL, pullResource } from '../journal/block-job-resources.js';
import { readActiveChain } from '../qmp/active-chain.js';
import { withMonitor } from '../qmp/domain-monitor.js';
import { checkQemuFlags } from '../qemu-flags.js';
import { blockOptionUnsupported, diskByName, diskHasJob } from './block-disk.js';
import { lookupBelow } from './commit-plan.js';
import { diskJob } from './block-job-control.js';

/** Pulls into the active layer of `disk` everything above `base` (null: the whole chain). */
export async function blockPullLive(
  ctx: TxnContext, dom: DomainRef, disk: string, base: string | null, bandwidth: number, flags: number, call: 'blockPull' | 'blockRebase',
): Promise<void> {
  checkQemuFlags(flags, call);
  if (flags & (R.COPY | R.COPY_RAW | R.COPY_DEV | R.REUSE_EXT)) throw blockOptionUnsupported('block copy (virDomainBlockRebase with COPY)');
  await lockDomain(ctx, dom.uuid, 'blockpull', async (lock) => {
    const rt = await requireRunning(ctx, dom);
    const target = diskByName(liveDef(ctx, dom), disk).target;
    if (bandwidth !== 0) throw blockOptionUnsupported('a bandwidth limit on a block job');
    if (call === 'blockRebase' && flags & R.RELATIVE) throw blockOptionUnsupported('keeping relative backing names (--keep-relative)');
    await withMonitor(rt.runtimeDir, async (qmp) => {
      const chain = (await readActiveChain(qmp)).find((c) => c.target === target);
      if (!chain) throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, `disk '${target}' is not attached to the running domain`);
      if (await diskJob(qmp, target)) throw diskHasJob(target);
      const files = chain.chain.map((l) => l.filename);
      const baseIndex = base === null ? -1 : lookupBelow(files, base, 1, target);
      const baseRef = baseIndex === -1 ? null : { path: files[baseIndex]!, format: chain.chain[baseIndex]!.format };
      refusePendingConflicts(ctx, files);
      await runOperation(ctx, lock, {
        kind: BLOCK_PULL,
        domain: { uuid: dom.uuid, name: dom.name },
        intent: { disk: target, top: files[0]!, base: baseRef?.path ?? null, flags },
        steps: [],
        commit: () => undefined,
        finalize: [pullResource(dom.uuid, rt.runtimeDir, target, files[0]!, baseRef)],
      });
      const after = (await readActiveChain(qmp)).find((c) => c.target === target)?.chain.map((l) => l.filename) ?? [];
      if (after[1] !== baseRef?.path) {
        throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU,
          `block pull of disk '${target}' did not finish; it is retried before the next operation on the domain`);
      }
    });
  });
}
