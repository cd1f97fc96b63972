/**
 * virDomainSnapshotCreateXML for a running QEMU domain: the atomic live external
 * disk-only snapshot on the txn engine. Check (flags, XML, disks, target files, QEMU's
 * block graph) → lock → journal the plan → prepare (create-active-external-steps.ts: every
 * overlay file created with its backing written in, then every overlay attached with
 * blockdev-add backing:null; one journaled step each, with undos that refuse to touch
 * anything QEMU uses) → switch (ONE QMP `transaction`
 * of blockdev-snapshot actions: every disk or none) → commit (snapshot metadata, state
 * disk-snapshot; live and persistent definitions on the overlays). A crash anywhere is
 * finished by recovery, which asks query-block which side of the switch QEMU is on.
 */
import { nvramCaptureSteps } from '../../firmware/nvram-snapshot.js';
import { tpmCaptureSteps } from '../../tpm/tpm-snapshot.js';
import { VirError, virError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import { SnapshotCreateFlags as C } from '../../../../api/flags.js';
import { cloneDomainDef } from '../../../../conf/domain-xml.js';
import type { DomainDef } from '../../../../conf/domain-types.js';
import type { SnapshotDef } from '../../../../conf/snapshot-types.js';
import { checkSnapshotName, parseSnapshotXML } from '../../../../conf/snapshot-xml.js';
import { validateAgainstSchema } from '../../../../conf/schema-validate.js';
import { alignSnapshotDisks, checkSnapshotLocations } from '../../../../snapshot/disk-align.js';
import { isRegularFile } from '../../../regular-file.js';
import { failpoint, lockDomain, lockDomainJob, runOperation, SNAPSHOT_JOB, type TxnContext } from '../../../../txn/index.js';
import type { DomainRef } from '../../../driver.js';
import { parseQueryBlock } from '../../qmp/active-chain.js';
import { planLiveDiskSnapshot, type LiveDiskSnapshotPlan } from './create-active-external-plan.js';
import { requireGuestAgentChannel } from '../../domain/domain-extras.js';
import { freezeAround, quiesceFreezeTimeoutMs } from '../../qmp/guest-agent.js';
import { qemuRuntimePaths } from '../../domain/qemu-process.js';
import type { QmpClient } from '../../qmp/qmp-client.js';
import { QmpDisconnectedError, QmpTimeoutError, qmpErrorToVirError } from '../../qmp/qmp-errors.js';
import type { JsonObject } from '../../qmp/qmp-json.js';
import { createInactiveSnapshot } from './create-inactive.js';
import { liveDefOf, requireRunning } from '../../domain/active-domains.js';
import { createInternalWithMemory } from './create-active-internal.js';
import { createExternalWithMemory } from './create-active-external-memory.js';
import { withMonitor } from '../../qmp/domain-monitor.js';
import { haltAfterCommit, nodesStep, overlaysStep } from './create-active-external-steps.js';
import {
  FP_TRANSACTION_ABORT, LIVE_CREATE, commitLiveCreate, intentJson, type LiveCreateIntent,
} from '../../journal/active-resources.js';
import { domainRecordXml, loadDomain, loadTree, snapshotRecordXml, type LoadedDomain } from '../../catalog/snapshot-catalog.js';
import type { SnapshotTree } from '../../../../snapshot/snapshot-tree.js';
import { checkQemuFlags } from '../../qemu-flags.js';
import { pointDiskAt } from '../../domain/point-disk.js';

const Q = VirErrorDomain.QEMU;


/** Creates a snapshot of running domain `dom`; returns its name. */
export async function createActiveSnapshot(ctx: TxnContext, dom: DomainRef, xml: string, flags: number): Promise<string> {
  checkQemuFlags(flags, 'snapshotCreateXML');
  if (flags & C.REDEFINE) {
    // Metadata only: the same rules as for a shut-off domain.
    return lockDomain(ctx, dom.uuid, 'snapshot-create', (lock) => createInactiveSnapshot(ctx, lock, dom, xml, flags));
  }
  if ((flags & C.QUIESCE) && !(flags & C.DISK_ONLY)) {
    // VIR_REQUIRE_FLAG_RET: libvirtd 9.0 prints the text without the code's prefix (as the shut-off path).
    throw new VirError(VirErrorCode.INVALID_ARG, Q,
      "Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE'");
  }
  if (flags & C.VALIDATE) validateAgainstSchema(xml, 'domainsnapshot');
  return lockDomainJob(ctx, dom.uuid, 'snapshot-create', SNAPSHOT_JOB, async (lock) => {
    const rt = await requireRunning(ctx, dom);
    const { store } = ctx;
    const loaded = loadDomain(store, dom);
    const { record } = loaded;
    const live = liveDefOf(loaded);
    const tree = loadTree(store, record.uuid);
    // qemu parses a disk-only snapshot's XML as offline (VIR_DOMAIN_SNAPSHOT_PARSE_OFFLINE): no memory state.
    const { def } = parseSnapshotXML(xml, { offline: (flags & C.DISK_ONLY) !== 0 });
    checkSnapshotName(def.name, Q);
    // qemuSnapshotCreateXMLValidateDef: --live only for a full system snapshot with an external memory file.
    const memoryExternal = def.memory?.snapshot === 'external' || (def.memory?.snapshot === undefined && def.memory?.file !== undefined);
    if ((flags & C.LIVE) && ((flags & C.DISK_ONLY) || !memoryExternal)) {
      throw virError(VirErrorCode.OPERATION_UNSUPPORTED, Q, 'live snapshot creation is supported only during full system snapshots');
    }
    const diskOnly = (flags & C.DISK_ONLY) !== 0 || def.memory?.snapshot === 'no';
    const keepMetadata = (flags & C.NO_METADATA) === 0;
    if (!diskOnly) {
      if (def.memory?.snapshot === 'external' || def.disks.some((d) => d.snapshot === 'external')) {
        await createExternalWithMemory(ctx, lock, dom, rt, def, flags, tree);
        return def.name;
      }
      await createInternalWithMemory(ctx, lock, dom, rt, def, keepMetadata, tree, flags);
      return def.name;
    }
    const quiesce = (flags & C.QUIESCE) !== 0;
    if (quiesce) requireGuestAgentChannel(live);
    await withMonitor(rt.runtimeDir, async (qmp) => {
      const { plan, intent } = await planLiveDiskOnlyCreate(qmp, rt.runtimeDir, loaded, tree, def, flags);
      let frozen: number | undefined;
      await runOperation(ctx, lock, {
        kind: LIVE_CREATE,
        domain: { uuid: record.uuid, name: record.name },
        intent: intentJson(intent),
        steps: [
          ...(keepMetadata ? nvramCaptureSteps(store.stateDir, record.uuid, live, def.name) : []),
          // swtpm keeps its permanent state on disk as it changes: a fresh boot from these disks needs no more.
          ...(keepMetadata ? tpmCaptureSteps(store.stateDir, record.uuid, live, def.name) : []),
          ...overlaysStep(ctx, plan, rt.runtimeDir), ...nodesStep(qmp, plan, rt.runtimeDir),
        ],
        finalize: haltAfterCommit(dom, rt.runtimeDir, flags),
        switch: quiesce
          ? async () => { frozen = await quiescedSwitch(ctx, rt.runtimeDir, () => switchToOverlays(qmp, plan)); }
          : () => switchToOverlays(qmp, plan),
        commit: (s) => commitLiveCreate(s, record.uuid, frozen === undefined ? intent : { ...intent, frozenFilesystems: frozen }),
        // The images the new overlays sit on: pending post-commit work on them must finish first.
        touches: plan.disks.map((d) => d.backingPath),
      });
    });
    return def.name;
  });
}

/**
 * Every check of a live disk-only create of `def` (parsed, named) on the running domain
 * `loaded` (runtime `runtimeDir`, monitor `qmp`), and the plan and journal intent that
 * result; nothing is changed. Shared by one domain's create and a group's. A group member
 * whose memory the group saves (`memory`: the guest's state now, and the file) is
 * recorded as an external full-system snapshot; its disks are planned the same way.
 */
export async function planLiveDiskOnlyCreate(
  qmp: QmpClient, runtimeDir: string, loaded: LoadedDomain, tree: SnapshotTree, def: SnapshotDef, flags: number,
  memory?: { state: 'running' | 'paused'; file: string },
): Promise<{ plan: LiveDiskSnapshotPlan; intent: LiveCreateIntent }> {
  const { def: persistent } = loaded;
  const live = liveDefOf(loaded);
  const keepMetadata = (flags & C.NO_METADATA) === 0;
  const quiesce = (flags & C.QUIESCE) !== 0;
  def.state = memory?.state ?? 'disk-snapshot';
  def.memory = memory ? { snapshot: 'external', file: memory.file } : { snapshot: 'no' };
  alignSnapshotDisks(def, live, { defaultMode: 'external', uniformInternal: false, isRegularFile });
  // libvirt checks each disk (qemuSnapshotPrepare's loop) before the mixing rules.
  for (const disk of def.disks) {
    if (disk.snapshot === 'internal') {
      throw virError(VirErrorCode.CONFIG_UNSUPPORTED, Q,
        `active qemu domains require external disk snapshots; disk ${disk.name} requested internal`);
    }
  }
  checkSnapshotLocations(def);
  for (const disk of def.disks) {
    if (disk.snapshot !== 'external') continue;
    if ((disk.type ?? 'file') !== 'file') {
      throw virError(VirErrorCode.CONFIG_UNSUPPORTED, Q, `external snapshots of disk ${disk.name} on '${disk.type}' targets are not supported`);
    }
    if ((disk.format ?? 'qcow2') !== 'qcow2') {
      throw virError(VirErrorCode.CONFIG_UNSUPPORTED, Q, `external snapshot format for disk ${disk.name} is unsupported: ${disk.format}`);
    }
    disk.format = 'qcow2';
  }
  const external = def.disks.filter((d) => d.snapshot === 'external');
  if (external.length === 0) throw virError(VirErrorCode.CONFIG_UNSUPPORTED, Q, 'nothing selected for snapshot');
  if (keepMetadata && tree.has(def.name)) {
    throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN, `domain moment ${def.name} already exists`);
  }
  def.domain = cloneDomainDef(live);

  const reuse = (flags & C.REUSE_EXT) !== 0;
  const plan = await planLiveDiskSnapshot(qmp, external.map((d) => ({ target: d.name, overlayPath: d.sourcePath ?? '', reuse })));
  const intent: LiveCreateIntent = {
    ...liveCreateIntent(def, keepMetadata, runtimeDir, persistent, live, plan),
    reused: reuse,
    ...(quiesce ? { quiesced: true } : {}),
  };
  return { plan, intent };
}

/**
 * The switch with the guest's filesystems frozen (qemu-guest-agent): freeze, one
 * transaction, thaw, the thaw on every path. SNAPVIRT_QUIESCE_TIMEOUT_MS bounds the
 * freeze (default 60 s); a freeze that times out fails the snapshot after thawing.
 * Returns how many filesystems the agent froze (recorded with the snapshot).
 */
async function quiescedSwitch(ctx: TxnContext, runtimeDir: string, fn: () => Promise<void>): Promise<number | undefined> {
  const { frozen, thawError } = await freezeAround(qemuRuntimePaths(runtimeDir).guestAgentSocket, fn, { freezeTimeoutMs: quiesceFreezeTimeoutMs() });
  if (thawError) ctx.warn(`the guest's filesystems may still be frozen: ${thawError.message}`);
  return frozen;
}

/** The definition with the plan's disks on their overlays. */
/** The journal intent every live create shares: the snapshot, and both definitions as they will be after the switch. */
export function liveCreateIntent(
  def: SnapshotDef, keepMetadata: boolean, runtimeDir: string, persistent: DomainDef, live: DomainDef, plan: LiveDiskSnapshotPlan,
): LiveCreateIntent {
  return {
    snapshot: def.name,
    snapshotXml: keepMetadata ? snapshotRecordXml(def) : null,
    runtimeDir,
    persistentXml: switchedPersistent(persistent, live, plan),
    liveXml: domainRecordXml(switchDisks(live, plan)),
    disks: plan.disks.map((d) => ({ target: d.target, overlayPath: d.overlayPath, overlayNode: d.overlayNodes.format })),
  };
}

export function switchDisks(def: DomainDef, plan: LiveDiskSnapshotPlan): DomainDef {
  const next = cloneDomainDef(def);
  for (const d of plan.disks) {
    const disk = next.disks.find((x) => x.target === d.target);
    if (!disk) continue;
    pointDiskAt(disk, d.overlayPath, 'qcow2');
  }
  return next;
}

/**
 * The persistent definition after the snapshot, as libvirt updates it: a disk moves to
 * the overlay only where the persistent config still uses the image the live disk used.
 * Null when nothing changes.
 */
export function switchedPersistent(persistent: DomainDef, live: DomainDef, plan: LiveDiskSnapshotPlan): string | null {
  const next = cloneDomainDef(persistent);
  let changed = false;
  for (const d of plan.disks) {
    const liveDisk = live.disks.find((x) => x.target === d.target);
    const disk = next.disks.find((x) => x.target === d.target);
    if (!disk || !liveDisk || disk.sourcePath !== liveDisk.sourcePath) continue;
    pointDiskAt(disk, d.overlayPath, 'qcow2');
    changed = true;
  }
  return changed ? domainRecordXml(next) : null;
}

/**
 * The switch: one transaction. A QMP error means QEMU changed nothing. A lost reply is
 * resolved with query-block (the monitor answers in order); if QEMU cannot say, the
 * error propagates and the undo handlers refuse to remove anything still in use.
 */
export async function switchToOverlays(qmp: QmpClient, plan: LiveDiskSnapshotPlan): Promise<void> {
  const actions: JsonObject[] = plan.disks.map((d) => ({
    type: 'blockdev-snapshot', data: { node: d.baseNode, overlay: d.overlayNodes.format },
  }));
  try {
    failpoint(FP_TRANSACTION_ABORT);
  } catch {
    // Test hook: make QEMU itself fail the transaction after every disk's action.
    actions.push({ type: 'abort', data: {} });
  }
  try {
    await qmp.execute('transaction', { actions });
  } catch (err) {
    if (err instanceof QmpTimeoutError || err instanceof QmpDisconnectedError) {
      const chains = await qmp.execute('query-block').then(parseQueryBlock).catch(() => undefined);
      if (chains && plan.disks.every((d) => chains.find((c) => c.target === d.target)?.nodeName === d.overlayNodes.format)) return;
    }
    throw qmpErrorToVirError(err);
  }
}
