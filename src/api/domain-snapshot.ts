/** A snapshot handle (virDomainSnapshotPtr): a domain plus a snapshot name. */
import type { HypervisorDriver, SnapshotQuiesceInfo } from '../drivers/driver.js';
import type { Connection } from './connection.js';
import type { Domain } from './domain.js';
import { virError, VirErrorCode, VirErrorDomain } from './errors.js';
import { exclusiveFlags } from './flag-checks.js';
import { diskChainQueries, withDiskChains } from './domain-definition.js';
import { parseSnapshotDefinition, type SnapshotDefinition } from './snapshot-definition.js';
import {
  SnapshotDeleteFlags as D, SnapshotRevertFlags as R, SnapshotXMLFlags,
  SnapshotListFlags, type SnapshotDeleteFlags, type SnapshotRevertFlags, type UntypedFlags,
} from './flags.js';

export type { SnapshotQuiesceInfo };

/**
 * A snapshot of a domain (virDomainSnapshotPtr), reached through Domain.snapshotCreateXML,
 * snapshotLookupByName, listAllSnapshots and friends. Every call throws
 * VIR_ERR_INVALID_CONN once the connection is closed, and VIR_ERR_NO_DOMAIN_SNAPSHOT once
 * the snapshot is gone.
 */
export class DomainSnapshot {
  /** @internal The domain the snapshot belongs to. */
  readonly domain: Domain;
  /** @internal The snapshot's name (getName() is the public way). */
  readonly name: string;

  private constructor(domain: Domain, name: string) {
    this.domain = domain;
    this.name = name;
  }

  /** @internal A handle for the snapshot `name` of `domain` (it need not exist). */
  static of(domain: Domain, name: string): DomainSnapshot { return new DomainSnapshot(domain, name); }

  /** The driver for libvirt's `functionName`, or VIR_ERR_INVALID_CONN after close(). */
  #driver(functionName: string): HypervisorDriver {
    return this.domain.connection.driverFor(functionName, VirErrorDomain.DOMAIN_SNAPSHOT);
  }
  /** The driver for a mutating call: refused on a closed, then on a read-only, connection. */
  #writer(functionName: string): HypervisorDriver {
    const driver = this.#driver(functionName);
    this.getConnect().denyIfReadOnly(functionName);
    return driver;
  }
  get #dom() { return this.domain.handle; }

  /** The snapshot's name (virDomainSnapshotGetName). */
  getName(): string { return this.name; }
  /** The domain it belongs to (virDomainSnapshotGetDomain). */
  getDomain(): Domain { return this.domain; }
  /** The connection it was reached through (virDomainSnapshotGetConnect). */
  getConnect(): Connection { return this.domain.connection; }

  /**
   * The `<domainsnapshot>` XML (virDomainSnapshotGetXMLDesc); SnapshotXMLFlags.SECURE
   * includes secrets (refused on a read-only connection, VIR_ERR_OPERATION_DENIED).
   */
  async getXMLDesc(flags: SnapshotXMLFlags | UntypedFlags = 0): Promise<string> {
    const driver = this.#driver('virDomainSnapshotGetXMLDesc');
    this.getConnect().denySecureIfReadOnly(flags, SnapshotXMLFlags.SECURE, 'virDomainSnapshotGetXMLDesc');
    return driver.snapshotGetXMLDesc(this.#dom, this.name, flags);
  }
  /**
   * The snapshot's definition as an object (name, description, state, parent, creation
   * time, memory, disks with their overlays, and the domain's disks and sources as they
   * were): getXMLDesc(flags) read by parseSnapshotDefinition. Each disk of `domain` has
   * the `chain` on disk now under the source it had then (never the running QEMU's).
   */
  async getDefinition(flags: SnapshotXMLFlags | UntypedFlags = 0): Promise<SnapshotDefinition> {
    const def = await parseSnapshotDefinition(await this.getXMLDesc(flags));
    if (def.domain) {
      withDiskChains(def.domain, await this.#driver('virDomainSnapshotGetXMLDesc').domainGetDiskChains(this.#dom, diskChainQueries(def.domain), false));
    }
    return def;
  }
  /** The parent snapshot (virDomainSnapshotGetParent); VIR_ERR_NO_DOMAIN_SNAPSHOT for a root. */
  async getParent(): Promise<DomainSnapshot> {
    return DomainSnapshot.of(this.domain, await this.#driver('virDomainSnapshotGetParent').snapshotGetParent(this.#dom, this.name));
  }
  /** Number of children, or all descendants with SnapshotListFlags.DESCENDANTS (virDomainSnapshotNumChildren). */
  async numChildren(flags: SnapshotListFlags | UntypedFlags = 0): Promise<number> {
    return (await this.#driver('virDomainSnapshotNumChildren').snapshotListAllChildren(this.#dom, this.name, flags)).length;
  }
  /** Names of the children (or descendants), filtered by list `flags` (virDomainSnapshotListChildrenNames). */
  async listChildrenNames(flags: SnapshotListFlags | UntypedFlags = 0): Promise<string[]> {
    return this.#driver('virDomainSnapshotListChildrenNames').snapshotListAllChildren(this.#dom, this.name, flags);
  }
  /** Handles of the children (or descendants), filtered by list `flags` (virDomainSnapshotListAllChildren). */
  async listAllChildren(flags: SnapshotListFlags | UntypedFlags = 0): Promise<DomainSnapshot[]> {
    const names = await this.#driver('virDomainSnapshotListAllChildren').snapshotListAllChildren(this.#dom, this.name, flags);
    return names.map((n) => DomainSnapshot.of(this.domain, n));
  }
  /** Whether this is the domain's current snapshot (virDomainSnapshotIsCurrent). */
  async isCurrent(): Promise<boolean> { return this.#driver('virDomainSnapshotIsCurrent').snapshotIsCurrent(this.#dom, this.name); }
  /**
   * Beyond libvirt: whether the guest's filesystems were frozen through its agent while
   * this snapshot's disks were taken (--quiesce), and how many. VIR_ERR_NO_SUPPORT from a
   * driver that cannot quiesce (the test driver).
   */
  async getQuiesceInfo(): Promise<SnapshotQuiesceInfo> {
    const driver = this.#driver('virDomainSnapshotGetQuiesceInfo');
    if (!driver.snapshotGetQuiesceInfo) {
      throw virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.DOMAIN_SNAPSHOT, 'snapshotGetQuiesceInfo');
    }
    return driver.snapshotGetQuiesceInfo(this.#dom, this.name);
  }
  /** Whether libvirt-style metadata is kept for this snapshot (virDomainSnapshotHasMetadata). */
  async hasMetadata(): Promise<boolean> { return this.#driver('virDomainSnapshotHasMetadata').snapshotHasMetadata(this.#dom, this.name); }

  /**
   * Reverts the domain to this snapshot (virDomainRevertToSnapshot). All-or-nothing: on
   * failure the disks, the definition and the current snapshot are as before. RUNNING and
   * PAUSED are mutually exclusive (VIR_ERR_INVALID_ARG); a risky revert needs FORCE
   * (VIR_ERR_SNAPSHOT_REVERT_RISKY).
   */
  async revert(flags: SnapshotRevertFlags | UntypedFlags = 0): Promise<void> {
    const driver = this.#writer('virDomainRevertToSnapshot');
    exclusiveFlags(flags, R.RUNNING, 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING', R.PAUSED, 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED');
    await driver.revertToSnapshot(this.#dom, this.name, flags);
    this.getConnect().snapshotChanged(this.#dom, [this.name], 'reverted');
  }

  /**
   * Deletes the snapshot, merging its data into what remains (virDomainSnapshotDelete).
   * CHILDREN also deletes descendants, CHILDREN_ONLY only them (mutually exclusive,
   * VIR_ERR_INVALID_ARG); METADATA_ONLY forgets the snapshot without touching disks.
   * Atomic for metadata, restartable for disk merges.
   */
  async delete(flags: SnapshotDeleteFlags | UntypedFlags = 0): Promise<void> {
    const driver = this.#writer('virDomainSnapshotDelete');
    exclusiveFlags(flags, D.CHILDREN, 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN', D.CHILDREN_ONLY, 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY');
    // One 'deleted' event per snapshot gone: with CHILDREN or CHILDREN_ONLY, the descendants (read before they go).
    const deleted = this.getConnect().snapshotEventsWanted ? await this.#deletedBy(driver, flags) : [];
    await driver.snapshotDelete(this.#dom, this.name, flags);
    this.getConnect().snapshotChanged(this.#dom, deleted, 'deleted');
  }

  async #deletedBy(driver: HypervisorDriver, flags: number): Promise<string[]> {
    const self = (flags & D.CHILDREN_ONLY) !== 0 ? [] : [this.name];
    if ((flags & (D.CHILDREN | D.CHILDREN_ONLY)) === 0) return self;
    return [...self, ...await driver.snapshotListAllChildren(this.#dom, this.name, SnapshotListFlags.DESCENDANTS)];
  }
}
