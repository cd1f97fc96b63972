/**
 * virDomainSnapshotCreateXML for a shut-off QEMU domain: internal snapshots (a qcow2 tag
 * on every selected disk) and external ones (a qcow2 overlay per disk, the domain switched
 * to the overlays), plus metadata-only redefinition. All-or-nothing by the atomic
 * protocol: every check first, then journal, prepare per disk with undo, and one commit.
 */
import { virError, VirError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import { SnapshotCreateFlags as C } from '../../../../api/flags.js';
import { cloneDomainDef } from '../../../../conf/domain-xml.js';
import type { DomainDef } from '../../../../conf/domain-types.js';
import type { SnapshotDef } from '../../../../conf/snapshot-types.js';
import { checkSnapshotName, parseSnapshotXML } from '../../../../conf/snapshot-xml.js';
import { refuseSharedDiskFiles } from '../../domain/shared-disk-files.js';
import { validateAgainstSchema } from '../../../../conf/schema-validate.js';
import { alignSnapshotDisks, checkSnapshotLocations } from '../../../../snapshot/disk-align.js';
import { isRegularFile } from '../../../regular-file.js';
import { planRedefinition } from '../../../../snapshot/redefine-rules.js';
import { applyRedefinition } from '../../../../snapshot/tree-insert.js';
import type { Store } from '../../../../store/index.js';
import type { TxnContext, DomainLock } from '../../../../txn/index.js';
import type { DomainRef } from '../../../driver.js';
import { checkInternalSnapshotSpace } from '../../images/internal-snapshot-space.js';
import { readLockTable } from '../../images/image-lock-probe.js';
import { claimNewFile, createOverlayFile } from '../../images/overlay-file.js';
import { updateOfflineDomainState } from '../../catalog/domain-state.js';
import { runInactiveOperation, type InactiveStep } from '../../journal/inactive-operation.js';
import { snapshotCreate } from '../../images/qemu-img.js';
import { planSnapshotDisks, type DiskAction } from './create-inactive-plan.js';
import {
  domainRecordXml, hasStoredSnapshot, loadDomain, loadTree, saveTree, storeCreatedSnapshot, snapshotRecordXml, type LoadedDomain,
} from '../../catalog/snapshot-catalog.js';
import { checkQemuFlags } from '../../qemu-flags.js';
import { nvramCaptureSteps } from '../../firmware/nvram-snapshot.js';
import { tpmCaptureSteps } from '../../tpm/tpm-snapshot.js';
import { pointDiskAt } from '../../domain/point-disk.js';


/** The flag checks qemuDomainSnapshotCreateXML makes before looking at the XML. */
function checkCreateFlags(flags: number): void {
  checkQemuFlags(flags, 'snapshotCreateXML');
  if ((flags & C.QUIESCE) && !(flags & C.DISK_ONLY)) {
    throw new VirError(VirErrorCode.INVALID_ARG, VirErrorDomain.QEMU,
      "Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE'");
  }
}

/** Creates (or with REDEFINE, redefines) a snapshot of the shut-off domain `dom`; returns its name. */
export async function createInactiveSnapshot(ctx: TxnContext, lock: DomainLock, dom: DomainRef, xml: string, flags: number): Promise<string> {
  checkCreateFlags(flags);
  if (flags & C.VALIDATE) validateAgainstSchema(xml, 'domainsnapshot');
  const redefine = (flags & C.REDEFINE) !== 0;
  // The disk checks judge other processes' image locks from /proc/locks, whose reading
  // waits for an RCU grace period: start it now (the domain lock is held) so it overlaps
  // the parsing below. A redefinition touches no disk.
  const lockTable = redefine ? undefined : readLockTable();
  const store: Store = ctx.store;
  const loaded = loadDomain(store, dom);
  const { record } = loaded;
  const { def } = parseSnapshotXML(xml, { redefine, offline: true });
  // libvirt skips the name rules with NO_METADATA, but the name still becomes part of
  // generated overlay paths and tags here, so snapvirt applies them always.
  checkSnapshotName(def.name, VirErrorDomain.QEMU);

  if (redefine) {
    // A definition that cannot work is refused here as at define.
    for (const embedded of [def.domain, def.inactiveDomain]) if (embedded) await refuseSharedDiskFiles(embedded);
    const tree = loadTree(store, record.uuid);
    const plan = planRedefinition(tree, def, record.uuid, flags);
    if (plan.alignDomain) {
      // As libvirt's virDomainSnapshotRedefinePrep: uniform, so only an internal default forces modes.
      alignSnapshotDisks(def, plan.alignDomain, { defaultMode: plan.defaultDiskMode, uniformInternal: true, isRegularFile });
    }
    applyRedefinition(tree, def, plan, (flags & C.CURRENT) !== 0);
    store.transaction(() => saveTree(store, record.uuid, tree));
    return def.name;
  }

  const planned = await planInactiveCreate(ctx, loaded, def, flags, lockTable);
  await runInactiveOperation(ctx, lock, {
    kind: 'create',
    domainUuid: planned.domainUuid,
    domainName: planned.domainName,
    summary: { snapshot: def.name, flags, actions: planned.actions },
    steps: planned.steps,
    extraSteps: (flags & C.NO_METADATA) ? [] : [
      ...nvramCaptureSteps(store.stateDir, record.uuid, loaded.def, def.name), ...tpmCaptureSteps(store.stateDir, record.uuid, loaded.def, def.name),
    ],
    cleanup: [],
    touches: planned.touches,
    commit: () => planned.commit(store),
  });
  return def.name;
}

/** A checked offline create, ready to run: its disk steps and its metadata commit. */
export interface PlannedInactiveCreate {
  domainUuid: string;
  domainName: string;
  actions: DiskAction[];
  steps: InactiveStep[];
  /** The images the new tags or overlays build on (txn's pending-work check). */
  touches: string[];
  /** What the commit writes, as data. */
  commitData: InactiveCommitData;
  /** The metadata switch: runs inside the commit transaction. */
  commit(store: Store): void;
}

/**
 * Every check of a plain offline create of `def` (parsed, named) on shut-off domain
 * `loaded`, under its held lock, and the plan that results; nothing is changed. Shared by a
 * single domain's create and a group's (each member one plan, run as one operation).
 */
export async function planInactiveCreate(
  ctx: TxnContext, loaded: LoadedDomain, def: SnapshotDef, flags: number, lockTable = readLockTable(),
): Promise<PlannedInactiveCreate> {
  const store: Store = ctx.store;
  const { record, def: domain } = loaded;
  if (flags & C.LIVE) {
    throw virError(VirErrorCode.OPERATION_UNSUPPORTED, VirErrorDomain.QEMU,
      'live snapshot creation is supported only during full system snapshots');
  }
  if (flags & C.QUIESCE) {
    throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, 'domain is not running');
  }
  // An offline snapshot has the shut-off state even with DISK_ONLY (libvirt's qemu driver).
  def.state = 'shutoff';
  def.memory = { snapshot: 'no' };
  // libvirt 9.0 makes the default external only for --disk-only and refuses a disk listed
  // external otherwise ("must use snapshot mode 'internal'"); snapvirt takes such a snapshot
  // as external (docs/COMPATIBILITY.md).
  const external = (flags & C.DISK_ONLY) !== 0 || def.disks.some((d) => d.snapshot === 'external');
  alignSnapshotDisks(def, domain, { defaultMode: external ? 'external' : 'internal', uniformInternal: true, isRegularFile });
  checkSnapshotLocations(def);
  for (const disk of def.disks) if (disk.snapshot === 'external') disk.format = disk.format ?? 'qcow2';
  def.domain = cloneDomainDef(domain);

  const keepMetadata = (flags & C.NO_METADATA) === 0;
  const checkDuplicate = (): void => {
    if (keepMetadata && hasStoredSnapshot(store, record.uuid, def.name)) {
      throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN, `domain moment ${def.name} already exists`);
    }
  };
  // libvirt's order: an external target that exists is reported before a duplicate name
  // (its default overlay name repeats the old one); an internal duplicate is reported first.
  if (!external) checkDuplicate();
  const actions = await planSnapshotDisks(domain, def, (flags & C.REUSE_EXT) !== 0, lockTable);
  checkDuplicate();
  const newDomain = domainAfterSnapshot(domain, actions);
  // A tag that fits on one disk but not the next could not be undone on a full disk either.
  await checkInternalSnapshotSpace(def.name, actions.flatMap((a) => (a.kind === 'internal' ? [{ image: a.image, tag: a.tag }] : [])));

  const commitData: InactiveCommitData = {
    snapshotXml: keepMetadata ? snapshotRecordXml(def) : null,
    persistentXml: newDomain ? domainRecordXml(newDomain) : null,
    // Overlays we made for a snapshot with metadata are ours to merge or discard later;
    // reused files and --no-metadata overlays stay the user's.
    created: keepMetadata ? actions.flatMap((a) => (a.kind === 'external' && !a.reuse ? [a.overlay] : [])) : [],
  };
  return {
    domainUuid: record.uuid,
    domainName: record.name,
    actions,
    steps: actions.flatMap(stepFor),
    touches: actions.map((a) => a.image),
    commitData,
    commit(store: Store) {
      commitInactiveCreate(store, record.uuid, commitData, keepMetadata ? def : undefined);
    },
  };
}

/** What an offline create's commit writes, as journal JSON (a group's roll-forward writes it from there). */
export interface InactiveCommitData {
  snapshotXml: string | null;
  persistentXml: string | null;
  created: string[];
}

/**
 * An offline create's commit: the snapshot (under the current one, and current), the
 * definition on its overlays, the overlays recorded as snapvirt's. Runs inside the commit
 * transaction; `def` saves parsing the snapshot XML back when the caller has it.
 */
export function commitInactiveCreate(store: Store, uuid: string, data: InactiveCommitData, def?: SnapshotDef): void {
  if (data.snapshotXml !== null) {
    // Under the current snapshot, and current (applyCreation), without loading the tree.
    storeCreatedSnapshot(store, uuid, def ?? parseSnapshotXML(data.snapshotXml, { redefine: true }).def);
  }
  if (data.persistentXml !== null) store.domains.update(uuid, { persistentXml: data.persistentXml });
  if (data.created.length > 0) updateOfflineDomainState(store, uuid, { created: data.created });
}

/** The domain definition after an external snapshot (disks on their overlays), or undefined. */
function domainAfterSnapshot(domain: DomainDef, actions: DiskAction[]): DomainDef | undefined {
  const external = actions.filter((a) => a.kind === 'external');
  if (external.length === 0) return undefined;
  const next = cloneDomainDef(domain);
  for (const a of external) {
    const disk = next.disks.find((d) => d.target === a.target);
    if (!disk || a.kind !== 'external') continue;
    pointDiskAt(disk, a.overlay, 'qcow2');
  }
  return next;
}

/** The prepare step of one disk action (none for a reused overlay: nothing to create). */
function stepFor(a: DiskAction): InactiveStep[] {
  if (a.kind === 'internal') {
    return [{ resource: { kind: 'created-tag', image: a.image, tag: a.tag }, run: () => snapshotCreate(a.image, a.tag) }];
  }
  if (a.reuse) return [];
  return [{
    resource: { kind: 'created-file', path: a.overlay },
    claim: () => claimNewFile(a.overlay),
    run: () => createOverlayFile(a.overlay, { path: a.image, format: a.imageFormat }, { claimed: true }),
  }];
}

/** The snapshot definition type this module produces, re-exported for tests. */
export type { SnapshotDef };
