/**
 * The test driver's snapshot operations (testDomainSnapshotCreateXML,
 * testDomainRevertToSnapshot, testDomainSnapshotDelete), metadata only, with libvirt's
 * semantics. Where libvirt's test driver refuses a flag (DISK_ONLY, NO_METADATA, REUSE_EXT,
 * DELETE_METADATA_ONLY, REVERT_RESET_NVRAM) snapvirt supports it with the qemu driver's
 * metadata semantics; docs/COMPATIBILITY.md lists each difference.
 *
 * Every operation checks everything first and mutates only after, so a failure changes
 * nothing (the atomic contract, trivially, for an in-memory driver).
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import {
  DomainState,
  PausedReason,
  RunningReason,
  ShutoffReason,
  SnapshotCreateFlags as C,
  SnapshotDeleteFlags as D,
  SnapshotRevertFlags as R,
} from '../../api/flags.js';
import { cloneDomainDef } from '../../conf/domain-xml.js';
import { validateAgainstSchema } from '../../conf/schema-validate.js';
import type { DomainDef } from '../../conf/domain-types.js';
import type { SnapshotDef, SnapshotState } from '../../conf/snapshot-types.js';
import { parseSnapshotXML, snapshotDefFromElement } from '../../conf/snapshot-xml.js';
import type { XmlElement } from '../../conf/xml-tree.js';
import { alignSnapshotDisks } from '../../snapshot/disk-align.js';
import { isRegularFile } from '../regular-file.js';
import { planRedefinition } from '../../snapshot/redefine-rules.js';
import { deleteFromTree, deleteScopeOf } from '../../snapshot/tree-delete.js';
import { applyCreation, applyRedefinition } from '../../snapshot/tree-insert.js';
import { checkFlags } from './check-flags.js';

export { checkFlags };
import { libvirtWarning } from './libvirt-log.js';
import { applyTestDomainDefaults, indentEmptyDevices } from './test-domain-defaults.js';
import type { TestDomainObj } from './test-domain-obj.js';

/** Every create flag libvirt defines: the test driver accepts them all. */
const CREATE_FLAGS_ALL = 0x3ff;
const REVERT_FLAGS_ALL = R.RUNNING | R.PAUSED | R.FORCE | R.RESET_NVRAM;
const DELETE_FLAGS_ALL = D.CHILDREN | D.METADATA_ONLY | D.CHILDREN_ONLY;


/** What the driver gives the snapshot operations: a fresh domain id when one starts. */
export interface TestDriverContext {
  nextDomainId(): number;
}

/** The snapshot `<state>` for a domain state (the enums share their values). */
export function snapshotStateOf(state: DomainState): SnapshotState {
  const names: SnapshotState[] = ['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended'];
  return names[state] ?? 'nostate';
}


/**
 * Creates (or, with REDEFINE, redefines) a snapshot of `vm` from `<domainsnapshot>` XML and
 * returns its name. With NO_METADATA nothing is recorded, as qemu does.
 */
export function createSnapshot(vm: TestDomainObj, xml: string, flags: number): string {
  checkFlags(flags, CREATE_FLAGS_ALL, 'testDomainSnapshotCreateXML');
  const redefine = (flags & C.REDEFINE) !== 0;
  if (!vm.persistent && (flags & C.HALT)) {
    throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.TEST, 'cannot halt after transient domain snapshot');
  }
  if (flags & C.VALIDATE) validateAgainstSchema(xml, 'domainsnapshot');
  // DISK_ONLY (snapvirt's extension here) parses as libvirt's qemu driver does: no memory state.
  const { def } = redefine ? parseSnapshotForRedefine(xml, false) : parseSnapshotXML(xml, { offline: (flags & C.DISK_ONLY) !== 0 });
  // libvirt's test driver has no save-cookie parser (its xmlopt has none), so <cookie> is dropped.
  delete def.cookie;

  if (redefine) {
    const plan = planRedefinition(vm.snapshots, def, vm.uuid, flags);
    if (plan.alignDomain) {
      alignSnapshotDisks(def, plan.alignDomain, {
        defaultMode: plan.defaultDiskMode, uniformInternal: true, isRegularFile,
      });
    }
    applyRedefinition(vm.snapshots, def, plan, (flags & C.CURRENT) !== 0);
    return def.name;
  }

  fillCreationDefaults(def);
  const domain = cloneDomainDef(vm.def);
  indentEmptyDevices(domain, 4);
  def.domain = domain;
  alignForCreate(vm, def, domain, flags);
  if (flags & C.NO_METADATA) {
    // qemu adds the snapshot to the list and drops it at the end: a duplicate still fails.
    if (vm.snapshots.has(def.name)) {
      throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN, `domain moment ${def.name} already exists`);
    }
    def.parent = vm.snapshots.currentName;
  } else {
    // A duplicate name throws here, before the halt below, so a failure changes nothing.
    applyCreation(vm.snapshots, def);
  }
  if (flags & C.DISK_ONLY) switchDisksToOverlays(vm, def);
  if ((flags & C.HALT) && vm.isActive()) {
    vm.shutoff(ShutoffReason.FROM_SNAPSHOT);
  }
  return def.name;
}

/**
 * Parses snapshot metadata as libvirt's REDEFINE parse does in the test driver: the stored
 * `<domain>` gets the driver's parse defaults, and metadata without a full `<domain>` logs
 * libvirt's "parsing older snapshot that lacks domain" warning. `internal` reads `<active>`.
 */
export function parseSnapshotForRedefine(xml: string, internal: boolean): { def: SnapshotDef; current: boolean } {
  return withTestDefaults(parseSnapshotXML(xml, { redefine: true, internal }));
}

/**
 * The same for a `<domainsnapshot>` element already parsed with its node file (each
 * `<test:domainsnapshot>`), with `<active>` read: one parse per file, not one per snapshot.
 */
export function snapshotFromNodeFileElement(el: XmlElement): { def: SnapshotDef; current: boolean } {
  return withTestDefaults(snapshotDefFromElement(el, { redefine: true, internal: true }));
}

function withTestDefaults(parsed: { def: SnapshotDef; current: boolean }): { def: SnapshotDef; current: boolean } {
  const { def } = parsed;
  if (def.domain) applyTestDomainDefaults(def.domain, { generateIfnames: false });
  else libvirtWarning('virDomainSnapshotDefParse', 287, 'parsing older snapshot that lacks domain');
  if (def.inactiveDomain) applyTestDomainDefaults(def.inactiveDomain, { generateIfnames: false });
  return parsed;
}

/** libvirt's post-parse defaults for a new snapshot: creation time now, named after it. */
function fillCreationDefaults(def: SnapshotDef): void {
  if (def.creationTime === undefined) def.creationTime = Math.floor(Date.now() / 1000);
  if (!def.name) def.name = String(def.creationTime);
  delete def.parent;
  delete def.state;
}

/**
 * testDomainSnapshotAlignDisks: the snapshot's state and memory come from the domain;
 * DISK_ONLY (a snapvirt extension here) makes every disk external, state disk-snapshot for
 * an active domain and shutoff otherwise, and no memory.
 */
function alignForCreate(vm: TestDomainObj, def: SnapshotDef, domain: DomainDef, flags: number): void {
  if (def.disks.some((disk) => disk.snapshot === 'manual')) {
    throw virError(VirErrorCode.OPERATION_UNSUPPORTED, VirErrorDomain.TEST,
      "'manual' snapshot mode is not supported by the test driver");
  }
  if (flags & C.DISK_ONLY) {
    def.state = vm.isActive() ? 'disk-snapshot' : 'shutoff';
    def.memory = { snapshot: 'no' };
    // snapvirt's extension (libvirt's test driver refuses --disk-only): metadata only, so
    // overlay names are generated without looking at the disks.
    alignSnapshotDisks(def, domain, { defaultMode: 'external', uniformInternal: false, isRegularFile: () => true });
  } else if (def.memory?.snapshot === 'external') {
    def.state = snapshotStateOf(vm.state);
    alignSnapshotDisks(def, domain, {
      defaultMode: 'external', uniformInternal: false, isRegularFile,
    });
  } else {
    def.state = snapshotStateOf(vm.state);
    def.memory = { snapshot: def.state === 'shutoff' ? 'no' : 'internal' };
    alignSnapshotDisks(def, domain, { defaultMode: 'internal', uniformInternal: true, isRegularFile });
  }
}

/**
 * After an external disk-only snapshot the domain runs on the new overlays, as with qemu:
 * both the live and the persistent definition now name them (qcow2, file-backed).
 */
function switchDisksToOverlays(vm: TestDomainObj, def: SnapshotDef): void {
  for (const domainDef of [vm.def, vm.newDef]) {
    if (!domainDef) continue;
    for (const snapDisk of def.disks) {
      if (snapDisk.snapshot !== 'external' || snapDisk.sourcePath === undefined) continue;
      const disk = domainDef.disks.find((d) => d.target === snapDisk.name);
      if (!disk) continue;
      disk.sourcePath = snapDisk.sourcePath;
      disk.type = snapDisk.type === 'block' ? 'block' : 'file';
      disk.format = snapDisk.format ?? 'qcow2';
    }
  }
}

/** True for the snapshot states that include a running guest. */
function isOnline(state: SnapshotState | undefined): boolean {
  return state === 'running' || state === 'paused';
}

/**
 * Reverts `vm` to snapshot `name`, with libvirt's state transitions: a running or paused
 * snapshot (re)starts the domain with a new id, "from snapshot" reasons, paused when the
 * snapshot was paused or PAUSED is given (RUNNING wins); an inactive snapshot stops a
 * running domain and, unlike libvirt's test driver, RUNNING/PAUSED then really start it.
 */
export function revertSnapshot(ctx: TestDriverContext, vm: TestDomainObj, name: string, flags: number): void {
  checkFlags(flags, REVERT_FLAGS_ALL, 'testDomainRevertToSnapshot');
  const snap = vm.snapshots.get(name, VirErrorDomain.TEST);
  const def = snap.def;
  const runOrPause = (flags & (R.RUNNING | R.PAUSED)) !== 0;
  if (!vm.persistent && !isOnline(def.state) && !runOrPause) {
    throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.TEST,
      'transient domain needs to request run or pause to revert to inactive snapshot');
  }
  if (!def.domain) {
    // libvirt 9.0 refuses this even with FORCE: there is no definition to go back to.
    throw virError(VirErrorCode.SNAPSHOT_REVERT_RISKY, VirErrorDomain.TEST,
      `snapshot '${def.name}' lacks domain '${vm.name}' rollback info`);
  }
  const config = cloneDomainDef(def.domain);
  indentEmptyDevices(config, 2);
  const wantPaused = !(flags & R.RUNNING) && (def.state === 'paused' || (flags & R.PAUSED) !== 0);

  if (vm.isActive()) vm.shutoff(ShutoffReason.FROM_SNAPSHOT);
  vm.def = config;
  if (isOnline(def.state) || runOrPause) {
    vm.start(RunningReason.FROM_SNAPSHOT, ctx.nextDomainId());
    if (wantPaused) vm.setState(DomainState.PAUSED, PausedReason.FROM_SNAPSHOT);
  }
  vm.snapshots.setCurrent(def.name);
}

/** Deletes snapshot `name` (CHILDREN, CHILDREN_ONLY and METADATA_ONLY are all metadata here). */
export function deleteSnapshot(vm: TestDomainObj, name: string, flags: number): void {
  checkFlags(flags, DELETE_FLAGS_ALL, 'testDomainSnapshotDelete');
  vm.snapshots.get(name, VirErrorDomain.TEST);
  const scope = deleteScopeOf(flags);
  deleteFromTree(vm.snapshots, name, scope);
}
