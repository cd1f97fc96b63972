/**
 * Taking a group member's QEMU back off the overlays its transaction switched it to. A
 * group create's switch is one QMP transaction per QEMU, so it is not atomic across
 * members: when a later member's transaction fails (QEMU refuses it, or the QEMU is gone),
 * or anything fails once every member has switched but before the switch is recorded,
 * the members already switched are on overlays the rollback cannot remove ("block node …
 * is in use by the running domain"). They are taken back first, here: for each disk on its
 * new overlay, an active block-commit of the overlay into the image below it, completed
 * with the pivot (the disk is on its old node again), and the overlay's node deleted
 * (blockCommitLayer, as a live snapshot delete merges a layer). Then the rollback removes
 * the overlay files and nodes as it does when nothing switched, and resumes the guests.
 *
 * Back, not forward, even when every member has switched: the operation reports an error,
 * and an error from a create must mean "nothing changed" (libvirt's contract; the caller
 * will not look for a snapshot it was told failed). Back is possible without loss: every
 * guest's vCPUs are still stopped, so each overlay is empty and the commit copies nothing;
 * the old images are exactly as before. (Were a guest to run meanwhile, an active commit
 * would still keep its writes: they land in the old image, where the disk goes back to.)
 * Only a kill decides forward (group-create-live.ts's recovery): then nobody was told.
 */
import { declareFailpoints, failpoint } from '../../../txn/index.js';
import { isQemuRunningIn } from '../domain/qemu-process.js';
import { parseQueryBlock } from '../qmp/active-chain.js';
import { blockCommitLayer, commitJobId, findJob, isJobEnd } from '../qmp/block-commit.js';
import { withMonitor } from '../qmp/domain-monitor.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import type { LiveMemberIntent } from './group-create-live.js';

/** Reached once an un-switch's commit job runs in QEMU (a kill here leaves the job behind: recovery ends it). */
export const FP_UNSWITCH_STARTED = 'group-create.unswitch.job.started';
declareFailpoints([FP_UNSWITCH_STARTED]);

/** Puts every disk of one member that is on its new overlay back onto the node it used before; idempotent. */
export async function unswitchMember(qmp: QmpClient, switches: LiveMemberIntent['switches']): Promise<void> {
  const chains = parseQueryBlock(await qmp.execute('query-block'));
  for (const s of switches) {
    const chain = chains.find((c) => c.target === s.target);
    // Not switched (or already back): nothing to undo on this disk.
    if (chain?.nodeName !== s.overlay) continue;
    const [overlay, below] = chain.chain;
    if (overlay === undefined || below === undefined) continue;
    const onStarted = (): void => failpoint(FP_UNSWITCH_STARTED);
    await blockCommitLayer(qmp, { target: s.target, overlay: overlay.filename, base: below.filename, onStarted });
  }
}

/**
 * The in-process undo of a partial switch: every member asked (a lost reply may hide a
 * transaction that happened), the last first. A member that cannot be taken back is
 * reported through `warn`; the rollback then leaves the entry open (its node is in use)
 * and recovery tries again (unswitchLiveMembers).
 */
export async function unswitchMembers(
  members: readonly { qmp: QmpClient; switches: LiveMemberIntent['switches'] }[], warn: (message: string) => void,
): Promise<void> {
  for (const m of [...members].reverse()) {
    try {
      await unswitchMember(m.qmp, m.switches);
    } catch (err) {
      warn(`a group member's disks could not be taken back off their new overlays: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** Recovery's undo of a partial switch (an in-process rollback that could not finish it): each live member's QEMU, if it still runs. */
export async function unswitchLiveMembers(live: readonly LiveMemberIntent[]): Promise<void> {
  for (const m of [...live].reverse()) {
    if (!await isQemuRunningIn(m.intent.runtimeDir)) continue;
    await withMonitor(m.intent.runtimeDir, (qmp) => unswitchMember(qmp, m.switches));
  }
}

/**
 * Ends the commit jobs of an un-switch a kill interrupted (before its pivot: a ready
 * active commit would wait forever, holding the disk), each disk staying where it is:
 * cancelled, a commit never pivots. Recovery runs it before asking which side each member
 * is on. A job of another name (the user's own block job) is not touched; a live delete's
 * merge uses the same id, but none runs on a member while its group entry is open (the
 * member's lock; runOperation refuses a domain an open group entry spans).
 */
export async function endInterruptedUnswitch(live: readonly LiveMemberIntent[]): Promise<void> {
  for (const m of live) {
    if (!await isQemuRunningIn(m.intent.runtimeDir)) continue;
    await withMonitor(m.intent.runtimeDir, async (qmp) => {
      for (const s of m.switches) {
        const jobId = commitJobId(s.target);
        const job = await findJob(qmp, jobId);
        if (job === undefined) continue;
        if (job.status === 'concluded') {
          await qmp.execute('job-dismiss', { id: jobId });
          continue;
        }
        const ended = qmp.waitForEvent((ev) => isJobEnd(ev, jobId), 600_000);
        ended.catch(() => undefined);
        await qmp.execute('block-job-cancel', { device: jobId, force: true });
        await ended;
      }
    });
  }
}
