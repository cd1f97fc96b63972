/**
 * The hypervisor driver table, as libvirt's virHypervisorDriver: one set of functions per
 * back end. The public API (api/) checks arguments and flags that libvirt checks before
 * dispatch, then calls these. A driver that lacks a capability throws VIR_ERR_NO_SUPPORT;
 * it never silently does nothing.
 *
 * Domains are passed as DomainRef (what a virDomainPtr carries); snapshots by name.
 */
import type { DomainWatch } from './domain-watch.js';
import type { DomainJobInfo, DomainJobStats } from './domain-job-info.js';
import type { BlockDriver } from './block-driver.js';
import type { Duplex } from 'node:stream';
import type { DiskChainLayer, DiskChainOrigin } from '../api/disk-chain.js';
import type { DomainState } from '../api/flags.js';
import type { SnapshotEventKind } from '../api/snapshot-events.js';
import type { SnapshotCheckReport } from './snapshot-check-report.js';
import type { GroupSnapshotDriver } from './group-snapshot-driver.js';
import type { DomainLifecycleDriver } from './domain-lifecycle-driver.js';
import type { StorePool } from '../store/store-pool.js';

/** What a virDomainPtr carries: identity, not state. id is -1 for an inactive domain. */
export interface DomainRef {
  readonly name: string;
  readonly uuid: string;
  readonly id: number;
}

/** virDomainGetState's result. */
export interface DomainStateInfo {
  state: DomainState;
  reason: number;
}

/** virDomainGetInfo's result (memory in KiB, cpuTime in nanoseconds). */
export interface DomainInfo {
  state: DomainState;
  maxMemKiB: number;
  memoryKiB: number;
  nrVirtCpu: number;
  cpuTimeNs: bigint;
}

/** The fields of virsh's dominfo that come from calls other than virDomainGetInfo. */
export interface DomainExtraInfo {
  osType: string;
  persistent: boolean;
  autostart: boolean;
  managedSave: boolean;
  /** Security model name, DOI, and the domain's label, as virsh dominfo prints them; null when the driver has none. */
  security: { model: string; doi: string; label: string; enforcing: boolean } | null;
}

/**
 * Whether a snapshot's disks were taken with the guest's filesystems frozen through its
 * agent (--quiesce), and how many were frozen. snapvirt's own addition: libvirt keeps
 * this nowhere after the snapshot returns.
 */
export interface SnapshotQuiesceInfo {
  quiesced: boolean;
  /** The number the agent reported; null when not quiesced, or when not known (a snapshot finished by crash recovery). */
  frozenFilesystems: number | null;
}

/** virsh version's hypervisor line and `uri`/`hostname`. */
export interface DriverIdentity {
  /** The hypervisor type, as virConnectGetType: "TEST", "QEMU". */
  type: string;
  /** virConnectGetVersion, as major*1e6 + minor*1e3 + micro. */
  hypervisorVersion: number;
  uri: string;
  hostname: string;
}

/** A disk whose backing chain a driver is asked for: as the definition being returned has it. */
export interface DiskChainQuery {
  target: string;
  type: string;
  source?: string;
  format?: string;
}

/** A driver's answer for one disk: its chain, top first, where it was read, and why it ends early. */
export interface DiskChainAnswer {
  layers: DiskChainLayer[];
  origin: DiskChainOrigin;
  note?: string;
}

/** The table of functions a back end implements. */
export interface HypervisorDriver {
  identity(): DriverIdentity;
  close(): Promise<void>;
  /**
   * The error every mutating call gets when the driver can only read (its state directory
   * cannot be written), or undefined. The public API asks before each mutating call.
   */
  writeRefusal?(): Error | undefined;

  // Domains
  listAllDomains(flags: number): Promise<DomainRef[]>;
  domainLookupByName(name: string): Promise<DomainRef>;
  domainLookupByUUID(uuid: string): Promise<DomainRef>;
  domainLookupByID(id: number): Promise<DomainRef>;
  domainDefineXML(xml: string, flags: number): Promise<DomainRef>;
  domainCreateXML(xml: string, flags: number): Promise<DomainRef>;
  domainUndefine(dom: DomainRef, flags: number): Promise<void>;
  domainCreate(dom: DomainRef, flags: number): Promise<DomainRef>;
  domainDestroy(dom: DomainRef, flags: number): Promise<void>;
  domainShutdown(dom: DomainRef, flags: number): Promise<void>;
  domainSuspend(dom: DomainRef): Promise<void>;
  domainResume(dom: DomainRef): Promise<void>;
  domainGetState(dom: DomainRef): Promise<DomainStateInfo>;
  domainGetInfo(dom: DomainRef): Promise<DomainInfo>;
  domainGetExtraInfo(dom: DomainRef): Promise<DomainExtraInfo>;
  domainGetXMLDesc(dom: DomainRef, flags: number): Promise<string>;
  domainIsActive(dom: DomainRef): Promise<boolean>;
  domainIsPersistent(dom: DomainRef): Promise<boolean>;
  /**
   * snapvirt's own (beyond libvirt; its XML's `<backingStore>`): the backing chain of each
   * disk in `disks`, in their order. `live` asks for what a running domain has open now;
   * false (an INACTIVE definition, or a domain as a snapshot recorded it) asks for the
   * chain on disk. Never probes a format. A driver that cannot tell throws NO_SUPPORT.
   */
  domainGetDiskChains(dom: DomainRef, disks: readonly DiskChainQuery[], live: boolean): Promise<DiskChainAnswer[]>;
  /** HMP or QMP passthrough (virDomainQemuMonitorCommand); drivers without a monitor refuse. */
  domainQemuMonitorCommand(dom: DomainRef, command: string, flags: number): Promise<string>;
  /** The console (or the character device `devname`) as a byte stream (virDomainOpenConsole); drivers without one refuse. */
  domainOpenConsole(dom: DomainRef, devname: string | undefined, flags: number): Promise<Duplex>;
  /** The domain's running job (virDomainGetJobInfo, virDomainGetJobStats), and its abort (virDomainAbortJob); absent: NO_SUPPORT. */
  domainGetJobInfo?(dom: DomainRef): Promise<DomainJobInfo>;
  domainGetJobStats?(dom: DomainRef, flags: number): Promise<DomainJobStats>;
  domainAbortJob?(dom: DomainRef): Promise<void>;

  /** Reboot, reset, autostart and rename (absent: the API reports NO_SUPPORT). */
  readonly lifecycle?: DomainLifecycleDriver;

  // Snapshots (virDomainSnapshot*)
  snapshotCreateXML(dom: DomainRef, xml: string, flags: number): Promise<string>;
  snapshotListAll(dom: DomainRef, flags: number): Promise<string[]>;
  snapshotListAllChildren(dom: DomainRef, snapshot: string, flags: number): Promise<string[]>;
  snapshotLookupByName(dom: DomainRef, name: string): Promise<string>;
  snapshotHasCurrent(dom: DomainRef): Promise<boolean>;
  snapshotCurrent(dom: DomainRef): Promise<string>;
  snapshotGetXMLDesc(dom: DomainRef, snapshot: string, flags: number): Promise<string>;
  snapshotGetParent(dom: DomainRef, snapshot: string): Promise<string>;
  snapshotIsCurrent(dom: DomainRef, snapshot: string): Promise<boolean>;
  snapshotHasMetadata(dom: DomainRef, snapshot: string): Promise<boolean>;
  revertToSnapshot(dom: DomainRef, snapshot: string, flags: number): Promise<void>;
  snapshotDelete(dom: DomainRef, snapshot: string, flags: number): Promise<void>;
  /** Beyond libvirt: the freeze record of a snapshot. Drivers that never quiesce leave it out (the API reports NO_SUPPORT). */
  snapshotGetQuiesceInfo?(dom: DomainRef, snapshot: string): Promise<SnapshotQuiesceInfo>;
  /**
   * snapvirt's own (beyond libvirt): compares the snapshot metadata with the disks (and a
   * running QEMU) and reports every inconsistency; flag SNAPSHOT_CHECK_REPAIR also fixes
   * what is provably safe to fix.
   */
  snapshotCheck(dom: DomainRef, flags: number): Promise<SnapshotCheckReport>;
  /** snapvirt's own: group snapshots over several domains (absent: the API reports NO_SUPPORT). */
  readonly groupSnapshots?: GroupSnapshotDriver;
  /** Block jobs and block info (absent: the API reports NO_SUPPORT naming the call). */
  readonly block?: BlockDriver;

  // Events (virConnectDomainEventRegisterAny); drivers that raise none leave them out (the API reports NO_SUPPORT).
  /** Registers `listener` for lifecycle events of `dom` (null: every domain); resolves with the callback ID. */
  domainEventRegister?(dom: DomainRef | null, listener: LifecycleListener): Promise<number>;
  /** Ends registration `callbackID`; VIR_ERR_INVALID_ARG when there is none. */
  domainEventDeregister?(callbackID: number): Promise<void>;

  /**
   * snapvirt's own snapshot events, heard from elsewhere (a daemon: every client's
   * operations). A driver that leaves these out runs every operation in this process, and
   * the public API raises the events of its own calls itself.
   */
  watchSnapshotEvents?(sink: SnapshotEventSink): Promise<void>;
  /** Stops what watchSnapshotEvents started. */
  unwatchSnapshotEvents?(): Promise<void>;

  /** snapvirtd only: a new resident watch of this driver's running domains (absent: the driver has none). */
  openDomainWatch?(): DomainWatch;
  /** snapvirtd only: answers running domains' states from `watch`, one this kind of driver opened on the same state. */
  useDomainWatch?(watch: DomainWatch): void;
}

/** Where a driver delivers a snapshot event: the domain, the snapshot's name, what happened. */
export type SnapshotEventSink = (dom: DomainRef, snapshot: string, kind: SnapshotEventKind) => void;

/** What a driver calls for a lifecycle event: the domain, virDomainEventType and its detail. */
export type LifecycleListener = (dom: DomainRef, event: number, detail: number) => void;

/** How a connection is opened: read-only (virConnectOpenReadOnly) or not, and where a QEMU driver's store comes from. */
export interface DriverOpenOptions {
  readOnly: boolean;
  /** Lends the state store of each state directory to every connection opened with it (store-pool.ts); without it, each opens its own. */
  storePool?: StorePool;
}

/** Opens a driver for a URI whose scheme it registered for. */
export type DriverFactory = (uri: URL, rawUri: string, options?: DriverOpenOptions) => Promise<HypervisorDriver>;
