/** A snapshot handle (virDomainSnapshotPtr): a domain plus a snapshot name. */
import type { Domain } from './domain.js';
import type { SnapshotQuiesceInfo } from '../drivers/driver.js';

export type { SnapshotQuiesceInfo };
import { virError, VirErrorCode, VirErrorDomain } from './errors.js';
import { exclusiveFlags } from './flag-checks.js';
import { SnapshotDeleteFlags as D, SnapshotRevertFlags as R, SnapshotXMLFlags } from './flags.js';

export class DomainSnapshot {
  /** @internal */
  constructor(readonly domain: Domain, readonly name: string) {}

  private get driver() { return this.domain.connection.driver; }
  private get dom() { return this.domain.handle; }

  getName(): string { return this.name; }
  getDomain(): Domain { return this.domain; }
  getConnect() { return this.domain.connection; }

  /** The `<domainsnapshot>` XML; VIR_DOMAIN_SNAPSHOT_XML_SECURE includes secrets. */
  async getXMLDesc(flags = 0): Promise<string> {
    this.getConnect().denySecureIfReadOnly(flags, SnapshotXMLFlags.SECURE, 'virDomainSnapshotGetXMLDesc');
    return this.driver.snapshotGetXMLDesc(this.dom, this.name, flags); }
  /** The parent snapshot; VIR_ERR_NO_DOMAIN_SNAPSHOT for a root. */
  async getParent(): Promise<DomainSnapshot> {
    return new DomainSnapshot(this.domain, await this.driver.snapshotGetParent(this.dom, this.name));
  }
  /** Number of children (or all descendants with VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS). */
  async numChildren(flags = 0): Promise<number> {
    return (await this.driver.snapshotListAllChildren(this.dom, this.name, flags)).length;
  }
  /** Names of the children (or descendants), filtered by list `flags`. */
  async listChildrenNames(flags = 0): Promise<string[]> {
    return this.driver.snapshotListAllChildren(this.dom, this.name, flags);
  }
  /** Handles of the children (or descendants), filtered by list `flags`. */
  async listAllChildren(flags = 0): Promise<DomainSnapshot[]> {
    return (await this.listChildrenNames(flags)).map((n) => new DomainSnapshot(this.domain, n));
  }
  async isCurrent(): Promise<boolean> { return this.driver.snapshotIsCurrent(this.dom, this.name); }
  /**
   * Beyond libvirt: whether the guest's filesystems were frozen through its agent while
   * this snapshot's disks were taken (--quiesce), and how many. VIR_ERR_NO_SUPPORT from a
   * driver that cannot quiesce (the test driver).
   */
  async getQuiesceInfo(): Promise<SnapshotQuiesceInfo> {
    const driver = this.driver;
    if (!driver.snapshotGetQuiesceInfo) {
      throw virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.DOMAIN_SNAPSHOT, 'snapshotGetQuiesceInfo');
    }
    return driver.snapshotGetQuiesceInfo(this.dom, this.name);
  }
  async hasMetadata(): Promise<boolean> { return this.driver.snapshotHasMetadata(this.dom, this.name); }

  /**
   * Reverts the domain to this snapshot (virDomainRevertToSnapshot). All-or-nothing: on
   * failure the disks, the definition and the current snapshot are as before. RUNNING and
   * PAUSED are mutually exclusive; a risky revert needs FORCE (VIR_ERR_SNAPSHOT_REVERT_RISKY).
   */
  async revert(flags = 0): Promise<void> {
    this.getConnect().denyIfReadOnly('virDomainRevertToSnapshot');
    exclusiveFlags(flags, R.RUNNING, 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING', R.PAUSED, 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED');
    await this.driver.revertToSnapshot(this.dom, this.name, flags);
  }

  /**
   * Deletes the snapshot, merging its data into what remains (virDomainSnapshotDelete).
   * CHILDREN also deletes descendants, CHILDREN_ONLY only them (mutually exclusive);
   * METADATA_ONLY forgets the snapshot without touching disks. Atomic for metadata,
   * restartable for disk merges.
   */
  async delete(flags = 0): Promise<void> {
    this.getConnect().denyIfReadOnly('virDomainSnapshotDelete');
    exclusiveFlags(flags, D.CHILDREN, 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN', D.CHILDREN_ONLY, 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY');
    await this.driver.snapshotDelete(this.dom, this.name, flags);
  }
}
