/**
 * The merge of a live snapshot delete as a step before its commit point (qmp/undoable-commit.ts
 * does the QMP part): one resource per disk, LIVE_UNDOABLE_MERGE, whose
 *   - undo takes the merge back while its QEMU runs (the base gets its old bytes from the
 *     undo image), which is what an abort of the delete job does;
 *   - finalize completes it after the commit point: through the QEMU while it runs, else
 *     offline with qemu-img;
 * and an operation handler for the delete that rolls an interrupted delete forward instead
 * of back when its QEMU is gone: the undo image's metadata lived in that QEMU, so only the
 * way forward is certain, and the overlay still holds every byte it needs.
 *
 * What makes the offline way forward safe from any state: while the overlay file exists,
 * the base never received anything newer than the overlay (the guest writes to the
 * temporary top, or to a layer above), so committing the overlay again is harmless; and
 * while the temporary top's file exists, nothing newer than it was written below it (its
 * pivot stops the guest, and the file is removed before the guest runs again). The overlay
 * file is removed once the base holding its data is flushed, before that pivot.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import {
  currentJob, declareFailpoints, failpoint, fsyncDir, fsyncFile, resourceString, settleAll,
  type JournalEntry, type Resource, type Step, type TxnContext,
} from '../../../txn/index.js';
import { BlockJobStatus, BlockJobType, emitBlockJobEvent } from '../../block-job-events.js';
import { updateOfflineDomainState } from '../catalog/domain-state.js';
import { replaceImagePath } from '../catalog/snapshot-catalog.js';
import { isQemuRunningIn } from '../domain/qemu-process.js';
import { readBackingLink } from '../images/chain-inspect.js';
import { claimNewFile, createOverlayFile, removeFileIfPresent } from '../images/overlay-file.js';
import { writeQcow2Overlay } from '../images/qcow2-overlay.js';
import { commitImage, createImage, rebaseImage } from '../images/qemu-img.js';
import { readQcow2Allocation } from '../images/qcow2-allocation.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import { withMonitor } from '../qmp/domain-monitor.js';
import { cancelCommit, finishCommit, resumeGuest, stageCommit, type MergePoints, type UndoableCommitRequest } from '../qmp/undoable-commit.js';
import { FP_MERGE_AFTER, FP_MERGE_STARTED } from './active-resources.js';

/** Resource (a step of a live delete): one disk's merge, undoable until the commit point. */
export const LIVE_UNDOABLE_MERGE = 'qemu-live-undoable-merge';
/** Failpoint once a merge has copied everything and waits for the commit point. */
export const FP_MERGE_STAGED = 'live-delete.merge.staged';
/** Failpoint once QEMU finalized a merge after the commit point, before the base is flushed. */
export const FP_MERGE_FINALIZED = 'live-delete.merge.finalized';
/** Failpoint once a temporary top is pivoted away (guest stopped), before its file goes. */
export const FP_TEMP_PIVOTED = 'live-delete.temp.pivoted';
/** Failpoint once the node restoring a base is added, before it is linked in. */
export const FP_RESTORE_ADDED = 'live-delete.restore.added';

declareFailpoints([FP_MERGE_STAGED, FP_MERGE_FINALIZED, FP_TEMP_PIVOTED, FP_RESTORE_ADDED]);

const POINTS: MergePoints = {
  finalized: () => failpoint(FP_MERGE_FINALIZED),
  pivoted: () => failpoint(FP_TEMP_PIVOTED),
  restoreAdded: () => failpoint(FP_RESTORE_ADDED),
};

/** What one undoable merge is, as journaled. */
export interface UndoableMerge {
  runtimeDir: string;
  domainUuid: string;
  target: string;
  overlay: string;
  base: string;
  baseFormat: string;
  /** The layer above the overlay (null: the overlay is the disk's top, and `temp` goes there). */
  above: string | null;
  /** The temporary top of an active merge (null for an intermediate one). */
  temp: string | null;
  /** The undo image. */
  undo: string;
  /** Whether the guest ran when the delete began (it runs again after every pivot that stops it). */
  wasRunning: boolean;
}

/** The journal resource of one undoable merge. */
export function undoableMergeResource(m: UndoableMerge): Resource {
  return { kind: LIVE_UNDOABLE_MERGE, ...m };
}

function mergeOf(r: Resource): UndoableMerge {
  const s = (f: string): string => resourceString(r, f);
  const opt = (f: string): string | null => (typeof r[f] === 'string' ? r[f] as string : null);
  return {
    runtimeDir: s('runtimeDir'), domainUuid: s('domainUuid'), target: s('target'), overlay: s('overlay'),
    base: s('base'), baseFormat: s('baseFormat'), above: opt('above'), temp: opt('temp'), undo: s('undo'),
    wasRunning: r.wasRunning === true,
  };
}

function request(m: UndoableMerge): UndoableCommitRequest {
  return {
    target: m.target, overlay: m.overlay, base: m.base, above: m.above ?? undefined, temp: m.temp ?? undefined, undo: m.undo, wasRunning: m.wasRunning,
  };
}

/**
 * The step that runs a delete's merges up to its commit point, every disk at once (one QMP
 * session, QEMU copies them side by side). The files are made first, one after the other:
 * a claim that meets someone's file fails the step, and only the files this process made
 * are undone in-process (recovery, which cannot tell, undoes every resource, as a live
 * create's overlays step does).
 */
export function undoableMergesStep(ctx: TxnContext, merges: readonly UndoableMerge[]): Step[] {
  if (merges.length === 0) return [];
  const resources = merges.map(undoableMergeResource);
  const made = merges.map(() => false);
  const runtimeDir = merges[0]!.runtimeDir;
  return [{
    name: `merges.${merges.length}`,
    resources,
    async do() {
      await withMonitor(runtimeDir, async (qmp) => {
        for (const [i, m] of merges.entries()) {
          try {
            await makeFiles(qmp, m, () => { made[i] = true; });
          } catch (err) {
            // Once any file exists the step has something to undo, whatever failed after it.
            if (made.some(Boolean)) Object.assign(err as object, { nothingCreated: false });
            throw err;
          }
        }
        const job = currentJob();
        const progress = merges.map(() => ({ done: 0, total: 0 }));
        await settleAll(merges.map(async (m, i) => {
          await stageCommit(qmp, request(m), {
            onStarted: () => failpoint(FP_MERGE_STARTED),
            onProgress: (done, total) => {
              progress[i] = { done, total };
              job?.progress({ dataProcessed: sum(progress.map((p) => p.done)), dataTotal: sum(progress.map((p) => p.total)) });
            },
            check: () => job?.checkAbort(),
          });
          failpoint(FP_MERGE_STAGED);
        }));
      });
      currentJob()?.checkAbort();
    },
    async undo() {
      for (let i = merges.length - 1; i >= 0; i--) {
        if (made[i]) await ctx.registry.resource(LIVE_UNDOABLE_MERGE).undo(resources[i]!);
      }
    },
  }];
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/**
 * A merge's undo image (its header names the base: the native writer needs a backing, and
 * it is the truth, its clusters being the base's old ones; QEMU opens it without) and, for
 * an active merge, its temporary top. `onMade` runs once the first file exists.
 */
async function makeFiles(qmp: QmpClient, m: UndoableMerge, onMade: () => void): Promise<void> {
  await claimNewFile(m.undo);
  onMade();
  if (!await writeQcow2Overlay(m.undo, m.base, m.baseFormat)) {
    await createImage({ path: m.undo, format: 'qcow2', sizeBytes: await baseSize(qmp, m.base) });
  }
  if (m.temp === null) return;
  await claimNewFile(m.temp);
  await createOverlayFile(m.temp, { path: m.overlay, format: 'qcow2' }, { claimed: true });
  fsyncDir(dirname(m.temp));
}

/** The base's virtual size as QEMU has it open. */
async function baseSize(qmp: QmpClient, base: string): Promise<number> {
  const nodes = await qmp.execute('query-named-block-nodes', { flat: true });
  for (const n of Array.isArray(nodes) ? nodes : []) {
    const o = n as { file?: unknown; drv?: unknown; image?: { 'virtual-size'?: unknown } };
    if (o.file === base && o.drv !== 'file' && o.drv !== 'host_device' && typeof o.image?.['virtual-size'] === 'number') return o.image['virtual-size'];
  }
  throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, `cannot read the size of '${base}' from QEMU`);
}

/**
 * Whether the undo image holds anything, read natively after QEMU let go of it (its own
 * clusters: data, or zero clusters, which is how QEMU keeps old bytes that read as zeros;
 * never its backing). An image that never became one (a claim, a torn header) holds nothing.
 */
async function undoHasData(undo: string): Promise<boolean> {
  if (!existsSync(undo) || statSync(undo).size === 0) return false;
  const layer = await readQcow2Allocation(undo).catch(() => undefined);
  return (layer?.mappedClusters ?? 0) > 0;
}

async function removeFile(path: string | null): Promise<void> {
  if (path === null || !existsSync(path)) return;
  await removeFileIfPresent(path);
  fsyncDir(dirname(path));
}

/** Takes the merge back (idempotent); only possible while its QEMU runs. */
async function undoMerge(m: UndoableMerge): Promise<void> {
  if (!(await isQemuRunningIn(m.runtimeDir))) {
    // Nothing was made yet: nothing to take back.
    if ((m.temp === null || !existsSync(m.temp)) && !existsSync(m.undo)) return;
    throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU,
      `cannot take back the merge of disk '${m.target}': its QEMU ended; the delete is finished instead by recovery`);
  }
  await withMonitor(m.runtimeDir, async (qmp) => {
    await cancelCommit(qmp, request(m), { overlay: 'qcow2', base: m.baseFormat }, () => undoHasData(m.undo), POINTS);
    // Gone before the guest runs again: see pivotTemp.
    await removeFile(m.temp);
    await resumeGuest(qmp, request(m));
  });
  await removeFile(m.undo);
}

/** Completes the merge after the commit point (idempotent), live or offline. */
async function finishMerge(ctx: TxnContext, m: UndoableMerge): Promise<void> {
  const merging = existsSync(m.overlay);
  const bookkeeping = async (): Promise<void> => {
    replaceImagePath(ctx.store, m.domainUuid, m.overlay, m.base, m.baseFormat, { live: true, snapshots: true });
    updateOfflineDomainState(ctx.store, m.domainUuid, { forgotten: [m.overlay] });
    await removeFile(m.overlay);
  };
  if (await isQemuRunningIn(m.runtimeDir)) {
    await withMonitor(m.runtimeDir, async (qmp) => {
      await finishCommit(qmp, request(m), { above: 'qcow2', base: m.baseFormat }, POINTS, bookkeeping);
      // Gone before the guest runs again: see pivotTemp.
      await removeFile(m.temp);
      await resumeGuest(qmp, request(m));
    });
    if (merging) {
      emitBlockJobEvent({
        domainUuid: m.domainUuid, target: m.target, path: m.above ?? m.overlay,
        type: m.above === null ? BlockJobType.ACTIVE_COMMIT : BlockJobType.COMMIT, status: BlockJobStatus.COMPLETED,
      });
    }
  } else {
    await finishOffline(m);
    await bookkeeping();
    await removeFile(m.temp);
  }
  await removeFile(m.undo);
  failpoint(FP_MERGE_AFTER);
}

/**
 * The offline end of a merge whose QEMU is gone. While the overlay exists, its data goes
 * into the base in full, always: whatever QEMU had copied may not have reached the disk,
 * and nothing newer than the overlay was written to the base while the overlay exists (it
 * is removed, the base flushed, before a temporary top is pivoted into the base). Then the
 * temporary top, if its file is still there, for the same reason: it is removed before the
 * guest runs on whatever QEMU pivoted it into (pivotTemp).
 */
async function finishOffline(m: UndoableMerge): Promise<void> {
  const base = { path: m.base, format: m.baseFormat };
  let temp = m.temp !== null && existsSync(m.temp) ? m.temp : null;
  const tempLink = temp === null ? undefined : await readBackingLink(temp, 'qcow2');
  if (temp !== null && (tempLink === undefined || tempLink === null)) {
    // Claimed but never written (a kill in between): it never held anything.
    await removeFile(temp);
    temp = null;
  }
  if (existsSync(m.overlay)) {
    await commitImage(m.overlay, 'qcow2', { keepTop: true });
    fsyncFile(m.base);
  }
  const above = temp ?? m.above;
  if (above !== null && existsSync(above)) await rebaseImage(above, 'qcow2', { backing: base, unsafe: true });
  if (temp !== null) {
    await commitImage(temp, 'qcow2', { keepTop: true });
    fsyncFile(m.base);
  }
}

/** Registers the undoable merge's resource kind. */
export function registerUndoableMergeHandlers(ctx: TxnContext): void {
  ctx.registry.registerResource(LIVE_UNDOABLE_MERGE, {
    undo: (r) => undoMerge(mergeOf(r)),
    finalize: (r) => finishMerge(ctx, mergeOf(r)),
    async persist(r) {
      // The temporary top takes the guest's writes: its header and name must outlive a power cut.
      const { temp } = mergeOf(r);
      if (temp !== null && existsSync(temp)) {
        fsyncFile(temp);
        fsyncDir(dirname(temp));
      }
    },
    files: (r) => {
      const m = mergeOf(r);
      return existsSync(m.overlay) ? [m.overlay, m.base, ...[m.above, m.temp].filter((f): f is string => f !== null)] : [];
    },
  });
}

/**
 * Whether an interrupted live delete must go forward: a merge step had started and its
 * QEMU is gone. The undo image lived in that QEMU (its metadata never flushed), so only the
 * way forward is certain, and it is always safe while the overlays exist (finishOffline).
 */
export async function mustRollDeleteForward(entry: JournalEntry): Promise<boolean> {
  for (const [i, step] of entry.steps.entries()) {
    if (entry.progress[i] !== 'started' && entry.progress[i] !== 'done') continue;
    const merge = step.resources.find((r) => r.kind === LIVE_UNDOABLE_MERGE);
    if (merge !== undefined) return !(await isQemuRunningIn(mergeOf(merge).runtimeDir));
  }
  return false;
}
