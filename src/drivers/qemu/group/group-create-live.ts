/**
 * The running members of a group create: each member's overlays and nodes prepared as a
 * single domain's live disk-only create prepares them (create-active-external-steps.ts),
 * then one window for all of them: every running guest's vCPUs stopped (journaled, so the
 * rollback and the post-commit work, in this process or in recovery, resume them), one
 * QMP `transaction` per QEMU (all at once), the vCPUs resumed (right after the last
 * switch, before the commit: StopVcpusStep.resumeStopped says why that is safe), and the
 * commit. No guest
 * runs while another member's disks switch, so the members' images hold one instant.
 *
 * A failure inside the switch phase, once some members switched, takes them back before
 * the rollback (group-unswitch.ts): the operation reports an error and nothing changed.
 *
 * Recovery (the group's OperationRecoveryHandler): before the switch phase, back (a
 * member the in-process rollback could not take back is taken back then); after it,
 * forward; killed inside it, each member's QEMU is asked (query-block) which side it is
 * on: none switched, back; some, the others' transactions are run then and forward (the
 * switched members' guests are still stopped, and stay so until the post-commit resume, so
 * nothing they do can reach the images the late ones take: still one instant). A kill inside an un-switch: its
 * commit job is ended first (no pivot), and a member left partly switched means back,
 * every member taken back. A member's QEMU that died before
 * its switch while another's switched cannot be finished and is reported.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { Store } from '../../../store/index.js';
import {
  declareFailpoints, failpoint, settleAll, type JournalEntry, type JsonValue, type RecoveryDirection, type Resource, type Step, type TxnContext,
} from '../../../txn/index.js';
import type { GroupSnapshotState } from '../../../store/index.js';
import { isQemuRunningIn } from '../domain/qemu-process.js';
import { parseQueryBlock } from '../qmp/active-chain.js';
import { withMonitor } from '../qmp/domain-monitor.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import { isJsonObject } from '../qmp/qmp-json.js';
import { qmpErrorToVirError } from '../qmp/qmp-errors.js';
import { commitLiveCreate, LIVE_RESUME, type LiveCreateIntent } from '../journal/active-resources.js';
import type { LiveDiskSnapshotPlan } from '../snapshot/create/create-active-external-plan.js';
import { endInterruptedUnswitch, unswitchLiveMembers, unswitchMembers } from './group-unswitch.js';
import { commitInactiveCreate, type InactiveCommitData } from '../snapshot/create/create-inactive.js';
import { updateOfflineDomainState } from '../catalog/domain-state.js';

/** A running member as the group's journal intent records it. */
export interface LiveMemberIntent {
  uuid: string;
  intent: LiveCreateIntent;
  /** Each disk's blockdev-snapshot: the node it uses now and its new overlay's node. */
  switches: { target: string; node: string; overlay: string }[];
  /** The file its memory state is saved to (a group without --disk-only; group-memory.ts). */
  memoryFile?: string;
}

/** The group create's journal intent: everything commitForward writes. */
export interface GroupCreateIntent {
  group: { name: string; description: string | null; creationTime: number; state: GroupSnapshotState };
  offline: { uuid: string; commit: InactiveCommitData }[];
  live: LiveMemberIntent[];
}

/** The blockdev-snapshot actions of one member's plan. */
export function switchesOf(plan: LiveDiskSnapshotPlan): LiveMemberIntent['switches'] {
  return plan.disks.map((d) => ({ target: d.target, node: d.baseNode, overlay: d.overlayNodes.format }));
}

/** The step that stops the running members' vCPUs, and the early resume of the guests it stopped. */
export interface StopVcpusStep extends Step {
  /**
   * Stops one member's guest when the stop belongs to the switch (`stopIn` 'switch'); a
   * member planned paused is left as it is. Undefined when the step itself stops them.
   */
  readonly stopInSwitch?: (qmp: QmpClient) => Promise<void>;
  /**
   * Resumes the guests this step stopped, right after the last member's switch and before
   * the commit, so no guest waits for the SQLite commit and the post-commit work. Safe
   * within the atomic protocol: it runs only once every member's transaction succeeded,
   * and from there the operation can only go forward (the engine records the switch; a
   * later failure leaves the entry 'switched' and recovery rolls it forward; a kill before
   * that finds every QEMU switched and also goes forward), so no undo ever runs on an
   * overlay a guest has written to. Errors are only warned about: the journaled resume
   * (finalized after the commit) tries again.
   */
  resumeStopped(warn: (message: string) => void): Promise<void>;
}

/**
 * The step that stops every running member's vCPUs (the last prepare step): one resume
 * resource per guest it stops, journaled before the stop. A guest paused when planned
 * (`running` false) stays so and gets none: the rollback and the post-commit work resume
 * only what this step stopped.
 *
 * Where the stop runs: with memory, in the step (every guest stopped before the memory
 * saves that follow it); disk-only, at the start of the switch (`stopIn` 'switch', each
 * QEMU's `stop` right before its own transaction; switchMembers), so no journal write
 * sits inside the guests' pause. That is still one instant across members: a member's
 * images hold its guest up to its stop, and no guest runs again until every member has
 * switched, so no member can see another's later writes before its own stop.
 */
export function stopVcpusStep(
  members: readonly { uuid: string; runtimeDir: string; qmp: QmpClient; running: boolean }[], stopIn: 'step' | 'switch',
): StopVcpusStep {
  const running = members.filter((m) => m.running);
  const resources: Resource[] = running.map((m) => ({ kind: LIVE_RESUME, runtimeDir: m.runtimeDir, domainUuid: m.uuid, resume: true }));
  const stopsInSwitch = new Set(running.map((m) => m.qmp));
  return {
    name: `stop-vcpus.${running.length}`,
    resources,
    // Every QEMU at once: each guest's pause starts as late and ends as early as the others'.
    async do() {
      if (stopIn === 'step') await settleAll(running.map((m) => m.qmp.execute('stop')));
    },
    ...stopIn === 'switch' ? {
      async stopInSwitch(qmp: QmpClient) {
        if (stopsInSwitch.has(qmp)) await qmp.execute('stop');
      },
    } : {},
    async resumeStopped(warn) {
      await Promise.all(running.map(({ qmp }) => qmp.execute('cont').catch((err: unknown) => {
        const why = err instanceof Error ? err.message : String(err);
        warn(`a group member's guest was not resumed after the switch (tried again after the commit): ${why}`);
      })));
    },
  };
}

/** Reached after each running member's transaction (`@k`: the k-th member has switched). */
export const FP_MEMBER_SWITCHED = 'group-create.member.switch.after';
/** Test hook (`@k`: the k-th member): QEMU itself refuses the member's transaction, after every disk's action. */
export const FP_MEMBER_TRANSACTION_ABORT = 'group-create.member.transaction.abort';
declareFailpoints([FP_MEMBER_SWITCHED, FP_MEMBER_TRANSACTION_ABORT]);

/**
 * Runs every member's transaction at once, each QEMU on its own: every guest is stopped
 * meanwhile (with `stopFirst`, each right before its own transaction), and none runs again
 * until all have switched, so the order does not change the instant the images hold, and
 * the window is as long as the slowest member's stop and transaction rather than their sum. Throwing means no
 * member switched: a failure after some did (another member's transaction refused, or
 * anything before the switch is recorded) takes them back first (group-unswitch.ts says
 * why back, and why that loses nothing; it asks each QEMU which side it is on).
 */
export async function switchMembers(
  members: readonly { qmp: QmpClient; switches: LiveMemberIntent['switches'] }[], warn: (message: string) => void,
  stopFirst?: (qmp: QmpClient) => Promise<void>,
): Promise<void> {
  try {
    // The test hook is read in canonical order, before any transaction is sent (`@k`: the k-th member).
    const aborts = members.map(() => abortRequested());
    await settleAll(members.map(async (m, k) => {
      // Its transaction only once its guest is stopped (a stop that fails sends none).
      if (stopFirst) await stopFirst(m.qmp);
      await switchOne(m.qmp, m.switches, aborts[k]);
      failpoint(FP_MEMBER_SWITCHED);
    }));
  } catch (err) {
    await unswitchMembers(members, warn);
    throw err;
  }
}

function abortRequested(): boolean {
  try {
    failpoint(FP_MEMBER_TRANSACTION_ABORT);
    return false;
  } catch {
    return true;
  }
}

async function switchOne(qmp: QmpClient, switches: LiveMemberIntent['switches'], abort = false): Promise<void> {
  const actions = switches.map((s) => ({ type: 'blockdev-snapshot', data: { node: s.node, overlay: s.overlay } }));
  const all = abort ? [...actions, { type: 'abort', data: {} }] : actions;
  try {
    await qmp.execute('transaction', { actions: all });
  } catch (err) {
    throw qmpErrorToVirError(err);
  }
}

/** Whether a journaled intent is a group create's (the fields recovery needs are checked). */
function isGroupCreateIntent(i: JsonValue): i is JsonValue & GroupCreateIntent {
  return isJsonObject(i) && isJsonObject(i.group) && typeof i.group.name === 'string' && Array.isArray(i.offline) && Array.isArray(i.live);
}

function groupIntentOf(entry: JournalEntry): GroupCreateIntent {
  const i = entry.intent;
  if (!isGroupCreateIntent(i)) {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `journal entry ${entry.id} has no group snapshot intent`);
  }
  return i;
}

/**
 * Which side of its switch a running member's QEMU is on: every disk on its overlay, none,
 * some (only an interrupted un-switch leaves that: a transaction is all or nothing), or
 * undefined when that QEMU is gone.
 */
async function memberSide(m: LiveMemberIntent): Promise<'all' | 'none' | 'some' | undefined> {
  if (!await isQemuRunningIn(m.intent.runtimeDir)) return undefined;
  const chains = await withMonitor(m.intent.runtimeDir, async (qmp) => parseQueryBlock(await qmp.execute('query-block')));
  const on = m.switches.filter((s) => chains.find((c) => c.target === s.target)?.nodeName === s.overlay).length;
  return on === m.switches.length ? 'all' : on === 0 ? 'none' : 'some';
}

/** The group create's recovery direction (see the file comment); may finish the switch, or take it back. */
export async function decideGroupCreate(entry: JournalEntry): Promise<RecoveryDirection> {
  if (entry.phase === 'switched') return 'forward';
  const { live } = groupIntentOf(entry);
  const unswitching = entry.phase === 'switching' || entry.phase === 'rolling-back' || entry.phase === 'rollback-failed';
  // A kill inside an un-switch may have left its commit job: ended first, each disk where it is.
  if (unswitching) await endInterruptedUnswitch(live);
  if (entry.phase === 'rolling-back' || entry.phase === 'rollback-failed') {
    // An in-process rollback that could not take a switched member back (switchMembers):
    // back it goes, that member first.
    await unswitchLiveMembers(live);
    return 'back';
  }
  if (entry.phase !== 'switching') return 'back';
  const sides = await Promise.all(live.map(memberSide));
  if (sides.includes('some')) {
    // Killed while taking the switch back (the operation had failed): back it goes.
    await unswitchLiveMembers(live);
    return 'back';
  }
  if (!sides.includes('all')) return 'back';
  for (const [i, m] of live.entries()) {
    if (sides[i] === 'all') continue;
    if (sides[i] === undefined) {
      throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU,
        `group snapshot '${groupIntentOf(entry).group.name}': a member's QEMU died before its switch while another's switched`);
    }
    await withMonitor(m.intent.runtimeDir, (qmp) => switchOne(qmp, m.switches));
  }
  return 'forward';
}

/** The group create's commit: every member's metadata and the group record. Inside the commit transaction. */
export function commitGroupCreate(store: Store, intent: GroupCreateIntent): void {
  for (const m of intent.offline) commitInactiveCreate(store, m.uuid, m.commit);
  for (const m of intent.live) {
    commitLiveCreate(store, m.uuid, m.intent);
    // snapvirt's own file, as the overlays are: a delete of the member's snapshot removes it.
    if (m.memoryFile !== undefined) updateOfflineDomainState(store, m.uuid, { created: [m.memoryFile] });
  }
  const { group } = intent;
  if (store.groups.get(group.name)) return;
  store.groups.add({
    name: group.name,
    description: group.description,
    creationTime: group.creationTime,
    state: group.state,
    members: [...intent.offline.map((m) => m.uuid), ...intent.live.map((m) => m.uuid)].sort()
      .map((uuid) => ({ domainUuid: uuid, snapshotName: group.name })),
  });
}

/** Registers the group create's recovery on the driver's txn context. */
export function registerGroupHandlers(ctx: TxnContext, kind: string): void {
  ctx.registry.registerOperation(kind, {
    decide: (entry) => decideGroupCreate(entry),
    commitForward: (entry, store) => commitGroupCreate(store, groupIntentOf(entry)),
  });
}
