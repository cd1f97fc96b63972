/**
 * Reverting a group snapshot where a QEMU is involved (a member runs, or --running/--paused
 * starts them): every member as a single domain's revert by a new QEMU does it
 * (revert-active-new-process.ts), all of them inside ONE journal entry:
 *
 *   prepare every member (fresh images, and for a member that ends running or paused a new
 *   QEMU started paused on them, loading the member's memory state when its snapshot has
 *   an external one) while every old QEMU keeps running → the switch: ONE durable marker,
 *   then every old QEMU stopped → ONE commit of every member's definition, runtime and
 *   current snapshot → post-commit, every new QEMU's vCPUs started (when ending running),
 *   then the files the reverted-away states alone used removed.
 *
 * A failure anywhere before the marker (the last member's start included) stops the new
 * QEMUs and removes every new image: the old QEMUs never noticed. After the marker the
 * revert only goes forward, in this process as in recovery (stopOldProcesses). Recovery reads the
 * marker: absent, back; present, every old QEMU is finished off and the commit written
 * from the journaled intent. A member whose snapshot holds an internal machine state
 * (loaded into its running QEMU in place) is refused: group snapshots do not make those.
 */
import { existsSync } from 'node:fs';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { Store } from '../../../store/index.js';
import {
  declareFailpoints, declareOperationKind, failpoint, runOperation, type DomainLock, type JournalEntry, type JsonValue, type RecoveryDirection, type TxnContext,
} from '../../../txn/index.js';
import { liveDefOf, liveRuntime } from '../domain/active-domains.js';
import { terminateQemuIn } from '../domain/qemu-process.js';
import { loadDomain, loadTree } from '../catalog/snapshot-catalog.js';
import { commitLiveRevert, type LiveRevertIntent } from '../journal/active-revert-resources.js';
import { forgetMonitor } from '../qmp/domain-monitor.js';
import { isJsonObject } from '../qmp/qmp-json.js';
import { hasInternalMemory } from '../snapshot/create/create-active-internal.js';
import { planProcessRevert, stopOldProcesses, switchMarkerFor, type PlannedProcessRevert } from '../snapshot/revert/revert-active-new-process.js';
import { endStateOf, refuseDeleting, refuseUnknownMemory } from '../snapshot/revert/revert-active.js';
import type { GroupMember } from './group-members.js';

/** The txn operation kind of a group revert with a QEMU involved. */
export const GROUP_LIVE_REVERT = 'group-live-revert';
declareOperationKind(GROUP_LIVE_REVERT);
/** Reached after each old QEMU is stopped in the switch (`@k`: k of them stopped, the marker written). */
export const FP_OLD_STOPPED = `${GROUP_LIVE_REVERT}.member.stop.after`;
declareFailpoints([FP_OLD_STOPPED]);

/** The journaled intent: the group, its one switch marker, and each member's revert. */
interface GroupLiveRevertIntent {
  group: string;
  /** Written before the first old QEMU is stopped (null: no member was running). */
  marker: string | null;
  members: { uuid: string; intent: LiveRevertIntent }[];
}

function isGroupLiveRevertIntent(i: JsonValue): i is JsonValue & GroupLiveRevertIntent {
  return isJsonObject(i) && typeof i.group === 'string' && Array.isArray(i.members) && (i.marker === null || typeof i.marker === 'string');
}

function intentOf(entry: JournalEntry): GroupLiveRevertIntent {
  if (!isGroupLiveRevertIntent(entry.intent)) {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `journal entry ${entry.id} has no group revert intent`);
  }
  return entry.intent;
}

/** Every member's commit, in this process or in recovery's roll forward. Inside the commit transaction. */
function commitGroupLiveRevert(store: Store, intent: GroupLiveRevertIntent): void {
  for (const m of intent.members) commitLiveRevert(store, m.uuid, m.intent);
}

/** Forward only once the marker is written; then every old QEMU is finished off first. */
async function decideGroupLiveRevert(entry: JournalEntry): Promise<RecoveryDirection> {
  const intent = intentOf(entry);
  if (intent.marker === null || !existsSync(intent.marker)) return 'back';
  for (const m of intent.members) {
    if (m.intent.oldRuntimeDir === null) continue;
    forgetMonitor(m.intent.oldRuntimeDir);
    await terminateQemuIn(m.intent.oldRuntimeDir, 5000);
  }
  return 'forward';
}

/** Registers the group live revert's recovery on the driver's txn context. */
export function registerGroupLiveRevertHandler(ctx: TxnContext): void {
  ctx.registry.registerOperation(GROUP_LIVE_REVERT, {
    decide: (entry) => decideGroupLiveRevert(entry),
    commitForward: (entry, store) => commitGroupLiveRevert(store, intentOf(entry)),
  });
}

/** True when a group revert needs QEMU: --running/--paused, a member running, or a member's snapshot that resumes a machine state. */
export async function groupRevertNeedsProcess(ctx: TxnContext, members: readonly GroupMember[], end: 'running' | 'paused' | null): Promise<boolean> {
  if (end !== null) return true;
  for (const m of members) {
    if (await liveRuntime(ctx, m.ref.uuid)) return true;
    const snap = loadTree(ctx.store, m.ref.uuid).get(m.snapshot, VirErrorDomain.QEMU).def;
    if (snap.state === 'running' || snap.state === 'paused') return true;
  }
  return false;
}

/** Reverts every member (locked, in canonical order, `locks` alike) by new QEMUs, all or nothing. */
export async function revertGroupLive(
  ctx: TxnContext, name: string, members: readonly GroupMember[], locks: readonly DomainLock[], flags: number,
): Promise<void> {
  const { store } = ctx;
  const runtimes = await Promise.all(members.map((m) => liveRuntime(ctx, m.ref.uuid)));
  const firstOld = runtimes.find((rt) => rt !== null);
  // One marker for the whole group, beside the runtime directories.
  const marker = firstOld ? switchMarkerFor(firstOld.runtimeDir, members[0]!.ref.uuid) : null;
  const plans: PlannedProcessRevert[] = [];
  // Every member's checks and plan before anything is touched; the first member's error in canonical order is reported.
  for (const [i, m] of members.entries()) {
    const loaded = loadDomain(store, m.ref);
    const tree = loadTree(store, m.ref.uuid);
    const snap = tree.get(m.snapshot, VirErrorDomain.QEMU).def;
    refuseDeleting(snap);
    if (hasInternalMemory(snap)) {
      throw virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.QEMU,
        `revert of group snapshot '${name}': snapshot '${m.snapshot}' of domain '${m.ref.name}' holds an internal machine state, ` +
        'which a group revert does not load');
    }
    refuseUnknownMemory(snap);
    const old = runtimes[i] ?? null;
    plans.push(await planProcessRevert(ctx, {
      dom: m.ref, snap, tree, old, end: endStateOf(snap, flags), current: old ? liveDefOf(loaded) : loaded.def,
    }, marker));
  }
  const intent: GroupLiveRevertIntent = {
    group: name, marker, members: plans.map((p, i) => ({ uuid: members[i]!.ref.uuid, intent: p.intent })),
  };
  const olds = runtimes.flatMap((rt) => (rt ? [rt.runtimeDir] : []));
  const [lead, ...rest] = members;
  await runOperation(ctx, locks[0]!, {
    kind: GROUP_LIVE_REVERT,
    domain: { uuid: lead!.ref.uuid, name: lead!.ref.name },
    members: rest.map((m, i) => ({ uuid: m.ref.uuid, name: m.ref.name, lock: locks[i + 1]! })),
    intent: JSON.parse(JSON.stringify(intent)) as JsonValue,
    // Step names carry the member's name: every member has an `image.vda`.
    steps: plans.flatMap((p, i) => p.steps.map((st) => ({ ...st, name: `${members[i]!.ref.name}.${st.name}` }))),
    ...marker !== null ? { switch: () => stopOldProcesses(olds, marker, ctx.warn, () => failpoint(FP_OLD_STOPPED)) } : {},
    commit: (s) => commitGroupLiveRevert(s, intent),
    touches: plans.flatMap((p) => p.touches),
    finalize: [
      ...plans.flatMap((p) => p.runState),
      ...marker === null ? [] : [{ kind: 'file-obsolete', path: marker }],
      ...plans.flatMap((p) => p.removals),
    ],
  });
  for (const p of plans) p.warnKept();
}
