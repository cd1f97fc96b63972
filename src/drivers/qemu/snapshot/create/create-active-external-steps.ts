/**
 * The prepare steps of a live external snapshot, one journaled step per phase for all
 * disks (as the offline path does, inactive-operation.ts): every overlay file, then every
 * overlay node. Each step's resources are all journaled before it starts, and the per-disk
 * work inside runs at once: the overlay files are written in parallel, the blockdev-add
 * commands are pipelined (QEMU answers them in order). A step ends only when every disk's
 * part has settled, so nothing of ours is still in flight when an undo starts.
 *
 * Failpoints `live-create.overlay.after` and `live-create.node.after` fire as each disk's
 * overlay is written and each node is attached (`@k`: the k-th to finish), so crash tests
 * still stop between disks.
 */
import { SnapshotCreateFlags } from '../../../../api/flags.js';
import type { DomainRef } from '../../../driver.js';
import { declareFailpoints, failpoint, fsyncDirsOf, nothingCreated, settleAll, type Resource, type Step, type TxnContext } from '../../../../txn/index.js';
import type { LiveDiskSnapshotPlan } from './create-active-external-plan.js';
import { createOverlayImage } from '../../images/overlay-image.js';
import type { QmpClient } from '../../qmp/qmp-client.js';
import { qmpErrorToVirError } from '../../qmp/qmp-errors.js';
import { haltResource, nodeResource, overlayResource } from '../../journal/active-resources.js';

/** Reached once per overlay file written (and fsynced). */
export const FP_OVERLAY_AFTER = 'live-create.overlay.after';
/** Reached once per overlay node attached. */
export const FP_NODE_AFTER = 'live-create.node.after';

declareFailpoints([FP_OVERLAY_AFTER, FP_NODE_AFTER]);

/**
 * The overlay files, one step (none when every overlay is reused: they are the user's
 * files, nothing to create, nothing a rollback may remove). Each file is created
 * exclusively (0600) with the right backing in its header and fsynced by the writer; the
 * step then fsyncs each directory once, so the overlays are durable when the step is done
 * and the engine need not sync every file and its directory a second time.
 */
export function overlaysStep(ctx: TxnContext, plan: LiveDiskSnapshotPlan, runtimeDir: string): Step[] {
  const disks = plan.disks.filter((d) => !d.reused);
  if (disks.length === 0) return [];
  const resources = disks.map((d) => overlayResource(runtimeDir, d.overlayPath));
  const created = disks.map(() => false);
  return [{
    name: `overlays.${disks.length}`,
    resources,
    durableWhenDone: true,
    async do() {
      try {
        await settleAll(disks.map(async (d, i) => {
          await createOverlayImage(
            { path: d.overlayPath, format: d.overlayFormat, backingPath: d.backingPath, backingFormat: d.backingFormat },
            () => { created[i] = true; },
          );
          failpoint(FP_OVERLAY_AFTER);
        }));
      } catch (failure) {
        // Only an O_EXCL failure on every disk created nothing: then there is nothing to undo.
        // Rethrows the step's own error (a VirError); only a thrown non-Error value is wrapped.
        const err = failure instanceof Error ? failure : new Error(String(failure));
        throw created.some(Boolean) ? err : nothingCreated(err);
      }
      fsyncDirsOf(disks.map((d) => d.overlayPath));
    },
    async undo() {
      // Only the files this process created: a path whose O_EXCL failed is someone else's.
      // (Recovery after a crash undoes every resource of the step: it cannot tell.)
      for (let i = disks.length - 1; i >= 0; i--) {
        if (created[i]) await ctx.registry.resource(resources[i]!.kind).undo(resources[i]!);
      }
    },
  }];
}

/**
 * The overlay nodes, one step: every overlay attached without a backing (blockdev-snapshot
 * links it), the commands sent together. Undone through the node resources, whose handler
 * deletes only nodes that exist and that no disk uses.
 */
export function nodesStep(qmp: QmpClient, plan: LiveDiskSnapshotPlan, runtimeDir: string): Step[] {
  if (plan.disks.length === 0) return [];
  const resources: Resource[] = plan.disks.map((d) => nodeResource(runtimeDir, d.overlayNodes.format));
  return [{
    name: `nodes.${plan.disks.length}`,
    resources,
    async do() {
      await settleAll(plan.disks.map(async (d) => {
        try {
          await qmp.execute('blockdev-add', {
            driver: d.overlayFormat,
            'node-name': d.overlayNodes.format,
            file: { driver: 'file', filename: d.overlayPath, 'node-name': d.overlayNodes.file },
            backing: null,
          });
        } catch (err) {
          throw qmpErrorToVirError(err);
        }
        failpoint(FP_NODE_AFTER);
      }));
    },
  }];
}

/**
 * --halt: the domain is shut off once the snapshot is taken (libvirt's reason: from
 * snapshot). Post-commit work (OperationSpec.finalize): finalized after the commit, by
 * this process or, after a crash, by recovery.
 */
export function haltAfterCommit(dom: DomainRef, runtimeDir: string, flags: number): Resource[] {
  if ((flags & SnapshotCreateFlags.HALT) === 0) return [];
  return [haltResource(dom, runtimeDir)];
}
