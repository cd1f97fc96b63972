/**
 * The journal kinds of block jobs on running domains. A block commit is journaled as
 * LIVE_MERGE resources (the merge machinery snapshot delete uses, with keepOverlay), a
 * block pull as LIVE_PULL: both post-commit work, so a killed job is always finished,
 * never undone (the data is already partly in its new place), on the next open: through
 * the same QEMU when it still runs, else offline with qemu-img.
 */
import { dirname } from 'node:path';
import { declareFailpoints, declareOperationKind, failpoint, fsyncDir, resourceString, type Resource, type TxnContext } from '../../../txn/index.js';
import { readQcow2Backing } from '../images/chain-inspect.js';
import { rebaseImage } from '../images/qemu-img.js';
import { isQemuRunningIn } from '../domain/qemu-process.js';
import { blockStreamLayer } from '../qmp/block-stream.js';
import { withMonitor } from '../qmp/domain-monitor.js';
import { BlockJobStatus, BlockJobType, emitBlockJobEvent } from '../../block-job-events.js';

/** The operation kind of virDomainBlockCommit on a running domain. */
export const BLOCK_COMMIT = 'block-commit';
/** The operation kind of virDomainBlockPull/virDomainBlockRebase (pull) on a running domain. */
export const BLOCK_PULL = 'block-pull';
/** Resource (post-commit): the layers above `base` pulled into the top of a running disk. */
export const LIVE_PULL = 'qemu-live-pull';
/** Failpoint once the pull's block-stream job runs in QEMU. */
export const FP_PULL_STARTED = 'live-pull.job.started';

declareOperationKind(BLOCK_COMMIT);
declareOperationKind(BLOCK_PULL);
declareFailpoints([FP_PULL_STARTED]);

/** The resource of one pull into `top` of domain `domainUuid`'s disk `target` (base null: everything). */
export function pullResource(
  domainUuid: string, runtimeDir: string, target: string, top: string, base: { path: string; format: string } | null,
): Resource {
  return { kind: LIVE_PULL, domainUuid, runtimeDir, target, top, base: base?.path ?? null, baseFormat: base?.format ?? null };
}

/** Finishes a pull (idempotent): block-stream while the QEMU runs, else a safe qemu-img rebase of the top. */
async function finishPull(r: Resource): Promise<void> {
  const runtimeDir = resourceString(r, 'runtimeDir');
  const target = resourceString(r, 'target');
  const top = resourceString(r, 'top');
  const base = typeof r.base === 'string' ? r.base : null;
  if (await isQemuRunningIn(runtimeDir)) {
    await withMonitor(runtimeDir, (qmp) => blockStreamLayer(qmp, { target, top, base, onStarted: () => failpoint(FP_PULL_STARTED) }));
    // As a finished commit is reported (active-resources.ts); a journal written before
    // pulls named their domain has no uuid to report.
    if (typeof r.domainUuid === 'string') {
      emitBlockJobEvent({ domainUuid: r.domainUuid, target, path: top, type: BlockJobType.PULL, status: BlockJobStatus.COMPLETED });
    }
    return;
  }
  if ((await readQcow2Backing(top)) === (base ?? null)) return;
  // A safe rebase copies into the top whatever its new backing would show differently.
  await rebaseImage(top, 'qcow2', { backing: base === null ? null : { path: base, format: resourceString(r, 'baseFormat') } });
  fsyncDir(dirname(top));
}

/** Registers the block-job resource kinds on a driver's txn context. */
export function registerBlockJobHandlers(ctx: TxnContext): void {
  ctx.registry.registerResource(LIVE_PULL, {
    async undo() {
      // Post-commit only: before the commit point nothing was pulled.
    },
    finalize: (r) => finishPull(r),
    files: (r) => [resourceString(r, 'top'), ...(typeof r.base === 'string' ? [r.base] : [])],
  });
}
