/**
 * virDomainBlockCommit on a running QEMU domain. libvirt's checks and messages first
 * (commit-plan.ts), then what must stay true (commit-safety.ts: snapshot metadata, other
 * domains, images built on the base). The merges are journaled post-commit work as in a
 * live snapshot delete: one LIVE_MERGE per layer, bottom first, each a QMP block-commit
 * (the last an active commit, which pivots the disk onto the base, when the top is the
 * active layer), restartable, so a killed commit is finished on the next open. The call
 * returns once the job has ended (snapvirt has no job outliving its caller: COMPATIBILITY.md).
 */
import { resolve } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { BlockCommitFlags as F } from '../../../api/flags.js';
import { lockDomain, refusePendingConflicts, runOperation, type Resource, type TxnContext } from '../../../txn/index.js';
import type { DomainRef } from '../../driver.js';
import { loadDomain, loadTree } from '../catalog/snapshot-catalog.js';
import { liveDef, requireRunning } from '../domain/active-domains.js';
import { notQcow2Paths } from '../images/chain-inspect.js';
import { createdQcow2, OtherDomainsReach, rootsOf } from '../images/image-users.js';
import { LIVE_MERGE } from '../journal/active-resources.js';
import { BLOCK_COMMIT } from '../journal/block-job-resources.js';
import { readActiveChain } from '../qmp/active-chain.js';
import { withMonitor } from '../qmp/domain-monitor.js';
import { checkQemuFlags } from '../qemu-flags.js';
import { knownImageDirs } from '../snapshot/revert/revert-inactive.js';
import { blockOptionUnsupported, diskByName, diskHasJob } from './block-disk.js';
import { planCommit } from './commit-plan.js';
import { refuseUnsafeCommit } from './commit-safety.js';
import { diskJob } from './block-job-control.js';

/** Commits `top` (null: the active layer) of `disk` into `base` (null: the bottom), then returns. */
export async function blockCommitLive(
  ctx: TxnContext, dom: DomainRef, disk: string, base: string | null, top: string | null, bandwidth: number, flags: number,
): Promise<void> {
  checkQemuFlags(flags, 'blockCommit');
  await lockDomain(ctx, dom.uuid, 'blockcommit', async (lock) => {
    const rt = await requireRunning(ctx, dom);
    const target = diskByName(liveDef(ctx, dom), disk).target;
    if (bandwidth !== 0) throw blockOptionUnsupported('a bandwidth limit on a block job');
    if (flags & F.RELATIVE) throw blockOptionUnsupported('keeping relative backing names (--keep-relative)');
    await withMonitor(rt.runtimeDir, async (qmp) => {
      const chain = (await readActiveChain(qmp)).find((c) => c.target === target);
      if (!chain) throw notAttached(target);
      if (await diskJob(qmp, target)) throw diskHasJob(target);
      const plan = planCommit(chain.chain, target, disk, base, top, flags);
      const { record, def: persistent } = loadDomain(ctx.store, dom);
      const tree = loadTree(ctx.store, record.uuid);
      const dirs = knownImageDirs(persistent, tree);
      const chainFiles = chain.chain.map((l) => l.filename);
      for (const f of chainFiles) dirs.add(resolve(f, '..'));
      const deleting = (flags & F.DELETE) !== 0;
      await refuseUnsafeCommit(plan, {
        persistent: record.persistent ? persistent : undefined, tree, others: new OtherDomainsReach(ctx.store, record.uuid),
        knownQcow2: createdQcow2(ctx.store), dirs, notImages: notQcow2Paths(rootsOf(persistent, tree)), chainFiles,
      }, deleting);
      refusePendingConflicts(ctx, [...plan.dropped, plan.base]);
      const finalize: Resource[] = plan.merges.map((m) => ({
        kind: LIVE_MERGE, runtimeDir: rt.runtimeDir, domainUuid: record.uuid, target,
        overlay: m.overlay, base: m.base, baseFormat: m.baseFormat, children: m.above === undefined ? [] : [m.above], keepOverlay: true,
      }));
      // DELETE: the dropped files go once every merge is done (nobody else reaches them: checked above).
      if (deleting) for (const path of plan.dropped) finalize.push({ kind: 'file-obsolete', path });
      await runOperation(ctx, lock, {
        kind: BLOCK_COMMIT,
        domain: { uuid: record.uuid, name: record.name },
        intent: { disk: target, top: plan.top, base: plan.base, active: plan.active, flags },
        steps: [],
        commit: () => undefined,
        finalize,
      });
      // A merge that failed stays journaled and is retried; the caller still hears of it.
      const after = (await readActiveChain(qmp)).find((c) => c.target === target)?.chain.map((l) => l.filename) ?? [];
      if (plan.dropped.some((f) => after.includes(f))) {
        throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU,
          `block commit of disk '${target}' did not finish; it is retried before the next operation on the domain`);
      }
    });
  });
}

function notAttached(target: string): Error {
  return virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, `disk '${target}' is not attached to the running domain`);
}
