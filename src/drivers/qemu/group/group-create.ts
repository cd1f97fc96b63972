/**
 * A group snapshot of several QEMU domains, all or nothing across every member: each
 * member gets an ordinary snapshot named as the group (so `snapshot-list DOMAIN` shows
 * it), and the group's record names them. The protocol is a single domain's, spanning
 * the members:
 *
 *   check (flags, XML, the name free everywhere) → lock every member in canonical order
 *   (by UUID) → plan every member (each member's own checks, nothing touched) → ONE
 *   journal entry for the group (under the first member, the others listed as members)
 *   → prepare every member's disks (qemu-img: internal tags, or with DISK_ONLY external
 *   overlays) as one journaled step → ONE commit writing every member's snapshot
 *   metadata, their definitions and the group record.
 *
 * A failure anywhere before the commit (the last disk of the last member included) undoes
 * every member's tags and overlays; a crash anywhere is rolled back by the next open (or
 * the next lock of any member), which takes every member's lock as this did.
 *
 * Running members switch inside one window (group-create-live.ts): with QUIESCE every
 * guest agent frozen first (group-quiesce.ts), every vCPU stopped, without DISK_ONLY
 * every member's memory saved (group-memory.ts), one QMP transaction per QEMU, then
 * resumed and thawed on every path.
 */
import { nvramCaptureSteps } from '../firmware/nvram-snapshot.js';
import { tpmCaptureSteps } from '../tpm/tpm-snapshot.js';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { SnapshotCreateFlags as C } from '../../../api/flags.js';
import { parseGroupSnapshotXML } from '../../../conf/groupsnapshot-xml.js';
import { checkSnapshotName, parseSnapshotXML } from '../../../conf/snapshot-xml.js';
import { escapeXml } from '../../../conf/xml-format.js';
import type { SnapshotDef } from '../../../conf/snapshot-types.js';
import { declareFailpoints, declareOperationKind, runOperation, type JsonValue, type Step, type TxnContext } from '../../../txn/index.js';
import type { DomainRef } from '../../driver.js';
import type { GroupSnapshotState } from '../../../store/index.js';
import { unsupportedFlagsDetail } from '../../flag-rule.js';
import { liveDefOf, liveRuntime } from '../domain/active-domains.js';
import { readLockTable } from '../images/image-lock-probe.js';
import { requireQemuImg } from '../images/qemu-img.js';
import { loadDomain, loadTree } from '../catalog/snapshot-catalog.js';
import { diskStep } from '../journal/inactive-operation.js';
import { holdMonitors, withMonitors } from '../qmp/domain-monitor.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import { isRunning } from '../journal/active-revert-resources.js';
import { planInactiveCreate, type PlannedInactiveCreate } from '../snapshot/create/create-inactive.js';
import { planLiveDiskOnlyCreate } from '../snapshot/create/create-active.js';
import type { LiveDiskSnapshotPlan } from '../snapshot/create/create-active-external-plan.js';
import { nodesStep, overlaysStep } from '../snapshot/create/create-active-external-steps.js';
import { requireGuestAgentChannel } from '../domain/domain-extras.js';
import { canonicalMembers, lockMembers } from './group-locks.js';
import { memberMemoryFile, saveMemoriesStep } from './group-memory.js';
import { freezeMembersStep, thawAfterCommit } from './group-quiesce.js';
import {
  commitGroupCreate, stopVcpusStep, switchesOf, switchMembers, type GroupCreateIntent, type LiveMemberIntent,
} from './group-create-live.js';

/** The txn operation kind of a group create. */
export const GROUP_CREATE = 'group-create';
declareOperationKind(GROUP_CREATE);
// runInactiveOperation's per-disk point, counted over every disk of every member.
declareFailpoints([`${GROUP_CREATE}.prepare.disk.after`]);

/** The flags a group create knows: a domain snapshot's that make sense for a group (ATOMIC is implied). */
const GROUP_CREATE_FLAGS = C.DISK_ONLY | C.QUIESCE | C.ATOMIC;

/** Creates the group snapshot `xml` (a `<groupsnapshot>`) of `doms`; returns its name. */
export async function createGroupSnapshot(ctx: TxnContext, doms: readonly DomainRef[], xml: string, flags: number): Promise<string> {
  const detail = unsupportedFlagsDetail(flags, { fn: 'groupSnapshotCreateXML', allowed: GROUP_CREATE_FLAGS });
  if (detail !== undefined) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT, detail);
  if ((flags & C.QUIESCE) && !(flags & C.DISK_ONLY)) {
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT,
      "Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE'");
  }
  const request = parseGroupSnapshotXML(xml);
  checkSnapshotName(request.name, VirErrorDomain.DOMAIN_SNAPSHOT);
  const members = canonicalMembers(doms);
  const { store } = ctx;
  return lockMembers(ctx, members, 'group-snapshot-create', async (locks) => {
    if (store.groups.get(request.name)) {
      throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN_SNAPSHOT, `group snapshot ${request.name} already exists`);
    }
    const runtimes = await Promise.all(members.map(async (m) => (await liveRuntime(ctx, m.uuid)) ?? undefined));
    const running = members.filter((_, i) => runtimes[i] !== undefined);
    if (request.memory === 'external' && (flags & C.DISK_ONLY)) {
      throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT, 'memory state cannot be saved with offline or disk-only snapshot');
    }
    // Without --disk-only a running member's snapshot holds its memory too, as a domain's does,
    // unless the group asks for none (`<memory snapshot='no'/>`: the running members' snapshots are disk-only).
    const withMemory = running.length > 0 && !(flags & C.DISK_ONLY) && request.memory !== 'no';
    const quiesce = (flags & C.QUIESCE) !== 0;
    if (quiesce) {
      if (running.length === 0) throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, 'domain is not running');
      // Every running member needs its agent, checked before anything is touched.
      for (const m of running) requireGuestAgentChannel(liveDefOf(loadDomain(store, m)));
    }
    const creationTime = Math.floor(Date.now() / 1000);
    const memberXml = `<domainsnapshot><name>${escapeXml(request.name)}</name>` +
      (request.description === undefined ? '' : `<description>${escapeXml(request.description)}</description>`) +
      '</domainsnapshot>';
    const memberDef = (): SnapshotDef => parseSnapshotXML(memberXml, { offline: true, now: creationTime }).def;
    const dirs = members.flatMap((_, i) => (runtimes[i] ? [runtimes[i]!.runtimeDir] : []));
    return withMonitors(dirs, async (monitors) => {
      const lockTable = readLockTable();
      // Every member's checks before anything is touched; the first member's error in canonical order is reported.
      const offline: { uuid: string; plan: PlannedInactiveCreate }[] = [];
      const live: (LiveMemberIntent & { qmp: QmpClient; plan: LiveDiskSnapshotPlan; running: boolean })[] = [];
      const nvramSteps: Step[] = [];
      for (const [i, m] of members.entries()) {
        const loaded = loadDomain(store, m);
        const rt = runtimes[i];
        // Each member's NVRAM (as it runs, or as defined) is copied in the same entry as the disks.
        nvramSteps.push(...nvramCaptureSteps(store.stateDir, m.uuid, rt ? liveDefOf(loaded) : loaded.def, memberDef().name));
        nvramSteps.push(...tpmCaptureSteps(store.stateDir, m.uuid, rt ? liveDefOf(loaded) : loaded.def, memberDef().name));
        if (rt === undefined) {
          offline.push({ uuid: m.uuid, plan: await planInactiveCreate(ctx, loaded, memberDef(), flags & C.DISK_ONLY, lockTable) });
          continue;
        }
        const qmp = monitors[dirs.indexOf(rt.runtimeDir)]!;
        // Under the members' locks and monitors: nothing of ours pauses or resumes it before the window.
        const guestRuns = await isRunning(qmp);
        const memoryFile = withMemory ? memberMemoryFile(liveDefOf(loaded), m.name, request.name) : undefined;
        const { plan, intent } = await planLiveDiskOnlyCreate(
          qmp, rt.runtimeDir, loaded, loadTree(store, m.uuid), memberDef(), C.DISK_ONLY | (flags & C.QUIESCE),
          memoryFile === undefined ? undefined : { state: guestRuns ? 'running' : 'paused', file: memoryFile },
        );
        live.push({ uuid: m.uuid, intent, switches: switchesOf(plan), qmp, plan, running: guestRuns, ...memoryFile === undefined ? {} : { memoryFile } });
      }
      // libvirt's agent check (qemuDomainAgentAvailable): a paused guest cannot answer a freeze.
      if (quiesce && live.some((l) => !l.running)) throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, 'domain is not running');
      const intent: GroupCreateIntent = {
        group: {
          name: request.name, description: request.description ?? null, creationTime,
          state: groupState(offline.length > 0, live.map((l) => (withMemory ? (l.running ? 'running' : 'paused') : 'disk-snapshot'))),
        },
        offline: offline.map((o) => ({ uuid: o.uuid, commit: o.plan.commitData })),
        live: live.map((l) => ({ uuid: l.uuid, intent: l.intent, switches: l.switches, ...l.memoryFile === undefined ? {} : { memoryFile: l.memoryFile } })),
      };
      const offlineSteps = offline.flatMap((o) => o.plan.steps);
      if (offlineSteps.some((st) => st.resource.kind === 'created-tag')) await requireQemuImg();
      const [lead, ...rest] = members;
      // With memory the guests stop before the saves; disk-only, each right before its transaction (stopVcpusStep).
      const vcpus = live.length > 0
        ? stopVcpusStep(live.map((l) => ({ uuid: l.uuid, runtimeDir: l.intent.runtimeDir, qmp: l.qmp, running: l.running })), withMemory ? 'step' : 'switch')
        : undefined;
      await runOperation(ctx, locks[0]!, {
        kind: GROUP_CREATE,
        domain: { uuid: lead!.uuid, name: lead!.name },
        members: rest.map((m, i) => ({ uuid: m.uuid, name: m.name, lock: locks[i + 1]! })),
        intent: JSON.parse(JSON.stringify(intent)) as JsonValue,
        steps: [
          ...offlineSteps.length > 0 ? [diskStep(GROUP_CREATE, offlineSteps)] : [],
          ...live.flatMap((l) => [...overlaysStep(ctx, l.plan, l.intent.runtimeDir), ...nodesStep(l.qmp, l.plan, l.intent.runtimeDir)]),
          // With memory the firmware's state is copied once the vCPUs stopped, so the copy matches the saved machine.
          ...withMemory ? [] : nvramSteps,
          // --quiesce: every guest frozen before any vCPU stops, thawed once they run again (group-quiesce.ts).
          ...quiesce ? [freezeMembersStep(live)] : [],
          ...vcpus ? [vcpus] : [],
          ...withMemory ? [
            saveMemoriesStep(ctx, live.map((l) => ({ runtimeDir: l.intent.runtimeDir, qmp: l.qmp, file: l.memoryFile! }))),
            ...nvramSteps,
          ] : [],
        ],
        // Monitor commands of this process (qemu-monitor-command) wait during the switch, as other processes' do.
        // The guests run again once every member switched, before the commit (see resumeStopped).
        ...vcpus ? {
          switch: () => holdMonitors(live.map((l) => l.intent.runtimeDir), async () => {
            await switchMembers(live, ctx.warn, vcpus.stopInSwitch);
            await vcpus.resumeStopped(ctx.warn);
          }),
        } : {},
        ...quiesce ? { finalize: thawAfterCommit(live) } : {},
        commit: (s) => commitGroupCreate(s, intent),
        touches: [...offline.flatMap((o) => o.plan.touches), ...live.flatMap((l) => l.plan.disks.map((d) => d.backingPath))],
      });
      return request.name;
    });
  });
}


/** The group's state: its members' snapshot state when they share one, else mixed. */
function groupState(hasShutOff: boolean, live: readonly GroupSnapshotState[]): GroupSnapshotState {
  const states = new Set<GroupSnapshotState>([...hasShutOff ? ['shutoff' as const] : [], ...live]);
  return states.size === 1 ? [...states][0]! : 'mixed';
}
