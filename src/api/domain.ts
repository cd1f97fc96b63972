/** A domain handle (virDomainPtr): identity plus the calls that act on the domain. */
import type { Duplex } from 'node:stream';
import type { DomainExtraInfo, DomainInfo, DomainRef, DomainStateInfo, HypervisorDriver } from '../drivers/driver.js';
import { SNAPSHOT_CHECK_REPAIR, type SnapshotCheckReport } from '../drivers/snapshot-check-report.js';
import type { Connection } from './connection.js';
import type { BlockInfo, BlockJobInfo } from '../drivers/block-driver.js';
import * as block from './domain-block.js';
import { diskChainQueries, parseDomainDefinition, withDiskChains, type DomainDefinition } from './domain-definition.js';
import { DomainSnapshot } from './domain-snapshot.js';
import type { DomainJobInfo, DomainJobStats } from '../drivers/domain-job-info.js';
import { virError, VirErrorCode, VirErrorDomain } from './errors.js';
import type { DomainLifecycleDriver } from '../drivers/domain-lifecycle-driver.js';
import { exclusiveFlags, requireFlag } from './flag-checks.js';
import {
  type BlockCommitFlags, type BlockJobAbortFlags, type BlockJobInfoFlags, type BlockPullFlags, type BlockRebaseFlags,
  DomainXMLFlags, SnapshotCreateFlags as C, SnapshotListFlags, type DomainUndefineFlags,
  type SnapshotCreateFlags, type SnapshotRevertFlags, type UntypedFlags,
} from './flags.js';

/**
 * A domain (virDomainPtr), reached through Connection.domainLookupByName and friends.
 * Every call throws VIR_ERR_INVALID_CONN once its connection is closed, and
 * VIR_ERR_NO_DOMAIN once the domain is gone.
 */
export class Domain {
  /** @internal The connection the handle was reached through. */
  readonly connection: Connection;
  #ref: DomainRef;

  private constructor(connection: Connection, ref: DomainRef) {
    this.connection = connection;
    this.#ref = ref;
  }

  /** @internal A handle for the domain `ref` names, on `connection`. */
  static of(connection: Connection, ref: DomainRef): Domain { return new Domain(connection, ref); }

  /** @internal The identity passed to the driver. */
  get handle(): DomainRef { return this.#ref; }
  /** The driver for libvirt's `functionName`, or VIR_ERR_INVALID_CONN after close(). */
  #driver(functionName: string): HypervisorDriver {
    return this.connection.driverFor(functionName, VirErrorDomain.DOMAIN);
  }
  /** The driver for a mutating call: refused on a closed, then on a read-only, connection. */
  #writer(functionName: string, errorDomain: VirErrorDomain = VirErrorDomain.DOMAIN): HypervisorDriver {
    const driver = this.connection.driverFor(functionName, errorDomain);
    this.connection.denyIfReadOnly(functionName);
    return driver;
  }

  /** The domain's name (virDomainGetName). */
  getName(): string { return this.#ref.name; }
  /** The domain's UUID as a string (virDomainGetUUIDString). */
  getUUIDString(): string { return this.#ref.uuid; }
  /** The running domain's id, or -1 when it is not running (as of the handle's last refresh; virDomainGetID). */
  getID(): number { return this.#ref.id; }
  /** The connection this handle belongs to (virDomainGetConnect). */
  getConnect(): Connection { return this.connection; }

  /**
   * Starts a defined domain (virDomainCreate, virDomainCreateWithFlags; flags:
   * virDomainCreateFlags). VIR_ERR_OPERATION_INVALID when it is already running.
   */
  async create(flags = 0): Promise<void> {
    this.#ref = await this.#writer(flags ? 'virDomainCreateWithFlags' : 'virDomainCreate').domainCreate(this.#ref, flags);
  }
  /** Stops the domain at once (virDomainDestroy, virDomainDestroyFlags). VIR_ERR_OPERATION_INVALID when it is not running. */
  async destroy(flags = 0): Promise<void> {
    await this.#writer(flags ? 'virDomainDestroyFlags' : 'virDomainDestroy').domainDestroy(this.#ref, flags);
  }
  /** Asks the guest to shut down (virDomainShutdown, virDomainShutdownFlags). */
  async shutdown(flags = 0): Promise<void> {
    await this.#writer(flags ? 'virDomainShutdownFlags' : 'virDomainShutdown').domainShutdown(this.#ref, flags);
  }
  /** Pauses the domain's vCPUs (virDomainSuspend). */
  async suspend(): Promise<void> { await this.#writer('virDomainSuspend').domainSuspend(this.#ref); }
  /** Resumes a paused domain (virDomainResume). */
  async resume(): Promise<void> { await this.#writer('virDomainResume').domainResume(this.#ref); }
  /**
   * Reboots the guest (virDomainReboot; flags: 1 ACPI power button, 2 guest agent; 0 lets
   * the driver choose). Returns once asked, as libvirt does; the guest reboots after.
   */
  async reboot(flags = 0): Promise<void> { await this.#lifecycle('virDomainReboot', true).reboot(this.#ref, flags); }
  /** Resets the guest at once, its reset button (virDomainReset). */
  async reset(flags = 0): Promise<void> { await this.#lifecycle('virDomainReset', true).reset(this.#ref, flags); }
  /** Marks the domain to be started after the host boots, or not (virDomainSetAutostart). */
  async setAutostart(autostart: boolean): Promise<void> {
    await this.#lifecycle('virDomainSetAutostart', true).setAutostart(this.#ref, autostart);
  }
  /** Whether the domain is started after the host boots (virDomainGetAutostart). */
  async getAutostart(): Promise<boolean> { return this.#lifecycle('virDomainGetAutostart', false).getAutostart(this.#ref); }
  /** Renames a shut-off persistent domain (virDomainRename); this handle takes the new name. */
  async rename(newName: string, flags = 0): Promise<void> {
    if (typeof newName !== 'string') throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN, 'new_name in virDomainRename must not be NULL');
    this.#ref = await this.#lifecycle('virDomainRename', true).rename(this.#ref, newName, flags);
  }
  /** The driver's lifecycle part for `functionName`; VIR_ERR_NO_SUPPORT when it has none. */
  #lifecycle(functionName: string, writes: boolean): DomainLifecycleDriver {
    const { lifecycle } = writes ? this.#writer(functionName) : this.#driver(functionName);
    if (!lifecycle) throw virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.NONE, functionName);
    return lifecycle;
  }

  /**
   * Removes the persistent definition (virDomainUndefineFlags). Refused
   * (VIR_ERR_OPERATION_INVALID) while snapshot metadata exists unless
   * DomainUndefineFlags.SNAPSHOTS_METADATA is given.
   */
  async undefine(flags: DomainUndefineFlags | UntypedFlags = 0): Promise<void> {
    await this.#writer('virDomainUndefineFlags').domainUndefine(this.#ref, flags);
  }
  /** The state and its reason (virDomainGetState); names: domainStateName(), domainStateReasonName(). */
  async getState(): Promise<DomainStateInfo> { return this.#driver('virDomainGetState').domainGetState(this.#ref); }
  /** State, memory, vCPUs and CPU time (virDomainGetInfo). */
  async getInfo(): Promise<DomainInfo> { return this.#driver('virDomainGetInfo').domainGetInfo(this.#ref); }
  /**
   * OS type, persistence, autostart, managed save and security label, as virsh dominfo
   * shows them (virDomainGetOSType, virDomainIsPersistent, virDomainGetAutostart, …).
   */
  async getExtraInfo(): Promise<DomainExtraInfo> { return this.#driver('virDomainGetInfo').domainGetExtraInfo(this.#ref); }
  /**
   * The domain XML (virDomainGetXMLDesc): DomainXMLFlags.INACTIVE for the persistent
   * config, SECURE for secrets (refused on a read-only connection).
   */
  async getXMLDesc(flags: DomainXMLFlags | UntypedFlags = 0): Promise<string> {
    const driver = this.#driver('virDomainGetXMLDesc');
    this.connection.denySecureIfReadOnly(flags, DomainXMLFlags.SECURE, 'virDomainGetXMLDesc');
    return driver.domainGetXMLDesc(this.#ref, flags);
  }
  /**
   * The domain's definition as an object (disks, their targets, sources, formats and
   * backing chains): getXMLDesc(flags) read by parseDomainDefinition, so nobody parses XML
   * for ordinary questions. INACTIVE gives the persistent configuration. Each disk's
   * `chain` is what the running QEMU has open (query-block), or else what the image
   * headers on disk say, read only where the format is known (a raw disk is one layer,
   * never parsed); on the test driver, the source alone. Throws what getXMLDesc throws,
   * and VIR_ERR_NO_SUPPORT from a driver that cannot tell a chain.
   */
  async getDefinition(flags: DomainXMLFlags | UntypedFlags = 0): Promise<DomainDefinition> {
    const def = await parseDomainDefinition(await this.getXMLDesc(flags));
    const live = (flags & DomainXMLFlags.INACTIVE) === 0;
    return withDiskChains(def, await this.#driver('virDomainGetXMLDesc').domainGetDiskChains(this.#ref, diskChainQueries(def), live));
  }
  /** Whether the domain is running (virDomainIsActive). */
  async isActive(): Promise<boolean> { return this.#driver('virDomainIsActive').domainIsActive(this.#ref); }
  /** Whether the domain has a persistent definition (virDomainIsPersistent). */
  async isPersistent(): Promise<boolean> { return this.#driver('virDomainIsPersistent').domainIsPersistent(this.#ref); }
  /**
   * Sends a QMP command (or HMP with flag 1, VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP) to the
   * domain's monitor (virDomainQemuMonitorCommand). VIR_ERR_NO_SUPPORT on the test driver.
   */
  async qemuMonitorCommand(command: string, flags = 0): Promise<string> {
    return this.#writer('virDomainQemuMonitorCommand').domainQemuMonitorCommand(this.#ref, command, flags);
  }
  /**
   * The running domain's console as a byte stream (virDomainOpenConsole): the first
   * console, else the first serial port, or the character device `devname` names
   * (`serial0`, `console0`…). The qemu driver attaches to a pty or a unix socket QEMU
   * serves; VIR_ERR_NO_SUPPORT on the test driver. End the stream to detach.
   */
  async openConsole(devname?: string, flags = 0): Promise<Duplex> {
    return this.#writer('virDomainOpenConsole').domainOpenConsole(this.#ref, devname, flags);
  }
  /**
   * The domain's running job (virDomainGetJobInfo): a live snapshot, a revert, a delete's
   * merges, run by this process or any other on the host. Type NONE when there is none.
   */
  async getJobInfo(): Promise<DomainJobInfo> {
    const driver = this.#driver('virDomainGetJobInfo');
    if (!driver.domainGetJobInfo) throw unsupported('virDomainGetJobInfo');
    return driver.domainGetJobInfo(this.#ref);
  }
  /** The job's statistics as libvirt's typed parameters (virDomainGetJobStats; flags: DomainJobStatsFlags). */
  async getJobStats(flags = 0): Promise<DomainJobStats> {
    const driver = this.#driver('virDomainGetJobStats');
    if (!driver.domainGetJobStats) throw unsupported('virDomainGetJobStats');
    return driver.domainGetJobStats(this.#ref, flags);
  }
  /**
   * Aborts the running job (virDomainAbortJob): it rolls back, nothing lost, and its call
   * fails with VIR_ERR_OPERATION_ABORTED. Refused with VIR_ERR_OPERATION_INVALID when there
   * is no job or it has passed its commit point (a delete's merges: the snapshot is gone).
   */
  async abortJob(): Promise<void> {
    const driver = this.#writer('virDomainAbortJob');
    if (!driver.domainAbortJob) throw unsupported('virDomainAbortJob');
    await driver.domainAbortJob(this.#ref);
  }

  /**
   * Merges the layers from `top` (null: the disk's active layer, which needs
   * BlockCommitFlags.ACTIVE) down into `base` (null: the bottom; SHALLOW: right below
   * top) of a running domain's disk (virDomainBlockCommit). snapvirt runs the job to its
   * end inside the call, an active commit included (it pivots): docs/COMPATIBILITY.md.
   */
  async blockCommit(disk: string, base: string | null, top: string | null, bandwidth = 0, flags: BlockCommitFlags | UntypedFlags = 0): Promise<void> {
    await block.blockCommit(this, disk, base, top, bandwidth, flags);
  }
  /** Pulls the whole backing chain into a running disk's active layer (virDomainBlockPull). */
  async blockPull(disk: string, bandwidth = 0, flags: BlockPullFlags | UntypedFlags = 0): Promise<void> {
    await block.blockRebase(this, 'virDomainBlockPull', disk, null, bandwidth, flags);
  }
  /** Pulls the chain above `base` into the active layer (virDomainBlockRebase without COPY; copy is refused). */
  async blockRebase(disk: string, base: string | null, bandwidth = 0, flags: BlockRebaseFlags | UntypedFlags = 0): Promise<void> {
    await block.blockRebase(this, 'virDomainBlockRebase', disk, base, bandwidth, flags);
  }
  /** The disk's block job, or null when it has none (virDomainGetBlockJobInfo). */
  async getBlockJobInfo(disk: string, flags: BlockJobInfoFlags | UntypedFlags = 0): Promise<BlockJobInfo | null> {
    return block.getBlockJobInfo(this, disk, flags);
  }
  /** Cancels the disk's block job, or with PIVOT completes a ready one (virDomainBlockJobAbort). */
  async blockJobAbort(disk: string, flags: BlockJobAbortFlags | UntypedFlags = 0): Promise<void> {
    await block.blockJobAbort(this, disk, flags);
  }
  /** Capacity, allocation and physical size of a disk's image, in bytes (virDomainGetBlockInfo). */
  async getBlockInfo(disk: string, flags: UntypedFlags = 0): Promise<BlockInfo> {
    return block.getBlockInfo(this, disk, flags);
  }

  /**
   * Creates a snapshot from `<domainsnapshot>` XML (virDomainSnapshotCreateXML).
   * Every snapshot is all-or-nothing across all disks, with or without
   * SnapshotCreateFlags.ATOMIC: on failure nothing is changed. Flag errors
   * (VIR_ERR_INVALID_ARG): CURRENT needs REDEFINE; REDEFINE excludes NO_METADATA and HALT.
   */
  async snapshotCreateXML(xml: string, flags: SnapshotCreateFlags | UntypedFlags = 0): Promise<DomainSnapshot> {
    const driver = this.#writer('virDomainSnapshotCreateXML', VirErrorDomain.DOMAIN_SNAPSHOT);
    requireFlag(flags, C.CURRENT, 'VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT', C.REDEFINE, 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE');
    exclusiveFlags(flags, C.REDEFINE, 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE', C.NO_METADATA, 'VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA');
    exclusiveFlags(flags, C.REDEFINE, 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE', C.HALT, 'VIR_DOMAIN_SNAPSHOT_CREATE_HALT');
    const name = await driver.snapshotCreateXML(this.#ref, xml, flags);
    this.connection.snapshotChanged(this.#ref, [name], 'created');
    return DomainSnapshot.of(this, name);
  }
  /** All snapshots matching SnapshotListFlags `flags` (virDomainListAllSnapshots); ordered only with TOPOLOGICAL. */
  async listAllSnapshots(flags: SnapshotListFlags | UntypedFlags = 0): Promise<DomainSnapshot[]> {
    const names = await this.#snapshotDriver('virDomainListAllSnapshots').snapshotListAll(this.#ref, flags);
    return names.map((n) => DomainSnapshot.of(this, n));
  }
  /** How many snapshots match `flags` (virDomainSnapshotNum). */
  async snapshotNum(flags: SnapshotListFlags | UntypedFlags = 0): Promise<number> {
    return (await this.#snapshotDriver('virDomainSnapshotNum').snapshotListAll(this.#ref, flags & ~SnapshotListFlags.TOPOLOGICAL)).length;
  }
  /** The names of the snapshots matching `flags` (virDomainSnapshotListNames). */
  async snapshotListNames(flags: SnapshotListFlags | UntypedFlags = 0): Promise<string[]> {
    return this.#snapshotDriver('virDomainSnapshotListNames').snapshotListAll(this.#ref, flags);
  }
  /** Looks a snapshot up (virDomainSnapshotLookupByName); VIR_ERR_NO_DOMAIN_SNAPSHOT if there is none by that name. */
  async snapshotLookupByName(name: string): Promise<DomainSnapshot> {
    return DomainSnapshot.of(this, await this.#snapshotDriver('virDomainSnapshotLookupByName').snapshotLookupByName(this.#ref, name));
  }
  /** Whether the domain has a current snapshot (virDomainHasCurrentSnapshot). */
  async hasCurrentSnapshot(): Promise<boolean> {
    return this.#snapshotDriver('virDomainHasCurrentSnapshot').snapshotHasCurrent(this.#ref);
  }
  /** The current snapshot (virDomainSnapshotCurrent); VIR_ERR_NO_DOMAIN_SNAPSHOT when there is none. */
  async snapshotCurrent(): Promise<DomainSnapshot> {
    return DomainSnapshot.of(this, await this.#snapshotDriver('virDomainSnapshotCurrent').snapshotCurrent(this.#ref));
  }
  /**
   * snapvirt's own (beyond libvirt): compares the snapshot metadata with the disks and a
   * running QEMU, and returns every inconsistency as a finding. With `repair`, re-runs
   * recovery and fixes only what is provably safe (a journaled operation); every other
   * finding says why it was not repaired. Repair is refused on a read-only connection
   * (VIR_ERR_OPERATION_DENIED).
   */
  async checkSnapshots(options: { repair?: boolean } = {}): Promise<SnapshotCheckReport> {
    const driver = options.repair ? this.#writer('virDomainSnapshotCheck') : this.#driver('virDomainSnapshotCheck');
    return driver.snapshotCheck(this.#ref, options.repair ? SNAPSHOT_CHECK_REPAIR : 0);
  }
  /** Reverts to `snapshot` (virDomainRevertToSnapshot); see DomainSnapshot.revert. */
  async revertToSnapshot(snapshot: DomainSnapshot, flags: SnapshotRevertFlags | UntypedFlags = 0): Promise<void> {
    await snapshot.revert(flags);
  }

  /** The driver for a snapshot call (libvirt reports those from the snapshot subsystem). */
  #snapshotDriver(functionName: string): HypervisorDriver {
    return this.connection.driverFor(functionName, VirErrorDomain.DOMAIN_SNAPSHOT);
  }
}

/** libvirt's error for a driver without `fn`. */
function unsupported(fn: string): Error {
  return virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.DOMAIN, fn);
}
