/** A domain handle (virDomainPtr): identity plus the calls that act on the domain. */
import type { DomainExtraInfo, DomainInfo, DomainRef, DomainStateInfo } from '../drivers/driver.js';
import { SNAPSHOT_CHECK_REPAIR, type SnapshotCheckReport } from '../drivers/snapshot-check-report.js';
import type { Connection } from './connection.js';
import { DomainSnapshot } from './domain-snapshot.js';
import { exclusiveFlags, requireFlag } from './flag-checks.js';
import { DomainXMLFlags, SnapshotCreateFlags as C, SnapshotListFlags } from './flags.js';

export class Domain {
  /** @internal */
  constructor(readonly connection: Connection, private ref: DomainRef) {}

  /** @internal The identity passed to the driver. */
  get handle(): DomainRef { return this.ref; }
  private get driver() { return this.connection.driver; }
  private deny(functionName: string): void { this.connection.denyIfReadOnly(functionName); }

  getName(): string { return this.ref.name; }
  getUUIDString(): string { return this.ref.uuid; }
  /** The running domain's id, or -1 when it is not running (as of the handle's last refresh). */
  getID(): number { return this.ref.id; }
  getConnect(): Connection { return this.connection; }

  /** Starts a defined domain (virDomainCreate). */
  async create(flags = 0): Promise<void> { this.deny(flags ? 'virDomainCreateWithFlags' : 'virDomainCreate'); this.ref = await this.driver.domainCreate(this.ref, flags); }
  /** Stops the domain at once (virDomainDestroy). */
  async destroy(flags = 0): Promise<void> { this.deny(flags ? 'virDomainDestroyFlags' : 'virDomainDestroy'); await this.driver.domainDestroy(this.ref, flags); }
  /** Asks the guest to shut down (virDomainShutdown). */
  async shutdown(flags = 0): Promise<void> { this.deny(flags ? 'virDomainShutdownFlags' : 'virDomainShutdown'); await this.driver.domainShutdown(this.ref, flags); }
  /** Pauses the domain's vCPUs (virDomainSuspend). */
  async suspend(): Promise<void> { this.deny('virDomainSuspend'); await this.driver.domainSuspend(this.ref); }
  /** Resumes a paused domain (virDomainResume). */
  async resume(): Promise<void> { this.deny('virDomainResume'); await this.driver.domainResume(this.ref); }
  /**
   * Removes the persistent definition (virDomainUndefineFlags). Refused while snapshot
   * metadata exists unless VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA is given.
   */
  async undefine(flags = 0): Promise<void> { this.deny('virDomainUndefineFlags'); await this.driver.domainUndefine(this.ref, flags); }
  /** The state and its reason (virDomainGetState). */
  async getState(): Promise<DomainStateInfo> { return this.driver.domainGetState(this.ref); }
  /** State, memory, vCPUs and CPU time (virDomainGetInfo). */
  async getInfo(): Promise<DomainInfo> { return this.driver.domainGetInfo(this.ref); }
  /** OS type, persistence, autostart, managed save and security label, as virsh dominfo shows them. */
  async getExtraInfo(): Promise<DomainExtraInfo> { return this.driver.domainGetExtraInfo(this.ref); }
  /** The domain XML; VIR_DOMAIN_XML_INACTIVE for the persistent config, SECURE for secrets. */
  async getXMLDesc(flags = 0): Promise<string> {
    this.connection.denySecureIfReadOnly(flags, DomainXMLFlags.SECURE, 'virDomainGetXMLDesc');
    return this.driver.domainGetXMLDesc(this.ref, flags); }
  async isActive(): Promise<boolean> { return this.driver.domainIsActive(this.ref); }
  async isPersistent(): Promise<boolean> { return this.driver.domainIsPersistent(this.ref); }
  /** Sends a QMP command (or HMP with flag 1) to the domain's monitor. */
  async qemuMonitorCommand(command: string, flags = 0): Promise<string> {
    this.deny('virDomainQemuMonitorCommand');
    return this.driver.domainQemuMonitorCommand(this.ref, command, flags);
  }

  /**
   * Creates a snapshot from `<domainsnapshot>` XML (virDomainSnapshotCreateXML).
   * Every snapshot is all-or-nothing across all disks, with or without
   * VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC: on failure nothing is changed. Flag errors:
   * CURRENT needs REDEFINE; REDEFINE excludes NO_METADATA and HALT (VIR_ERR_INVALID_ARG).
   */
  async snapshotCreateXML(xml: string, flags = 0): Promise<DomainSnapshot> {
    this.deny('virDomainSnapshotCreateXML');
    requireFlag(flags, C.CURRENT, 'VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT', C.REDEFINE, 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE');
    exclusiveFlags(flags, C.REDEFINE, 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE', C.NO_METADATA, 'VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA');
    exclusiveFlags(flags, C.REDEFINE, 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE', C.HALT, 'VIR_DOMAIN_SNAPSHOT_CREATE_HALT');
    const name = await this.driver.snapshotCreateXML(this.ref, xml, flags);
    return new DomainSnapshot(this, name);
  }
  /** All snapshots matching VIR_DOMAIN_SNAPSHOT_LIST_* `flags`; ordered only with TOPOLOGICAL. */
  async listAllSnapshots(flags = 0): Promise<DomainSnapshot[]> {
    return (await this.driver.snapshotListAll(this.ref, flags)).map((n) => new DomainSnapshot(this, n));
  }
  /** How many snapshots match `flags` (virDomainSnapshotNum). */
  async snapshotNum(flags = 0): Promise<number> {
    return (await this.driver.snapshotListAll(this.ref, flags & ~SnapshotListFlags.TOPOLOGICAL)).length;
  }
  /** The names of the snapshots matching `flags` (virDomainSnapshotListNames). */
  async snapshotListNames(flags = 0): Promise<string[]> {
    return this.driver.snapshotListAll(this.ref, flags);
  }
  /** Looks a snapshot up; VIR_ERR_NO_DOMAIN_SNAPSHOT if there is none by that name. */
  async snapshotLookupByName(name: string): Promise<DomainSnapshot> {
    return new DomainSnapshot(this, await this.driver.snapshotLookupByName(this.ref, name));
  }
  /** Whether the domain has a current snapshot (virDomainHasCurrentSnapshot). */
  async hasCurrentSnapshot(): Promise<boolean> { return this.driver.snapshotHasCurrent(this.ref); }
  /** The current snapshot; VIR_ERR_NO_DOMAIN_SNAPSHOT when there is none. */
  async snapshotCurrent(): Promise<DomainSnapshot> {
    return new DomainSnapshot(this, await this.driver.snapshotCurrent(this.ref));
  }
  /**
   * snapvirt's own (beyond libvirt): compares the snapshot metadata with the disks and a
   * running QEMU, and returns every inconsistency as a finding. With `repair`, re-runs
   * recovery and fixes only what is provably safe (a journaled operation); every other
   * finding says why it was not repaired. Repair is refused on a read-only connection.
   */
  async checkSnapshots(options: { repair?: boolean } = {}): Promise<SnapshotCheckReport> {
    if (options.repair) this.deny('virDomainSnapshotCheck');
    return this.driver.snapshotCheck(this.ref, options.repair ? SNAPSHOT_CHECK_REPAIR : 0);
  }
  /** Reverts to `snapshot` (virDomainRevertToSnapshot); see DomainSnapshot.revert. */
  async revertToSnapshot(snapshot: DomainSnapshot, flags = 0): Promise<void> {
    await snapshot.revert(flags);
  }
}
