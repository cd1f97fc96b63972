/**
 * libvirt's test driver (test:///default and test:///PATH.xml): an in-memory hypervisor
 * whose state lives as long as the connection. Domain and snapshot semantics, messages and
 * error codes follow libvirt 9.0's src/test/test_driver.c; the few deliberate differences
 * are listed in docs/COMPATIBILITY.md.
 */
import { testBlockDriver } from './test-block.js';
import { runsOnAfter, testLifecycleDriver } from './test-lifecycle.js';
import type { Duplex } from 'node:stream';
import { hostname } from 'node:os';
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import {
  DomainState,
  DomainUndefineFlags as U,
  DomainXMLFlags,
  ListDomainsFlags as LD,
  PausedReason,
  RunningReason,
  ShutoffReason,
  SnapshotCreateFlags as C,
  SnapshotXMLFlags,
} from '../../api/flags.js';
import { formatDomainXML, parseDomainXML } from '../../conf/domain-xml.js';
import type { DomainDef } from '../../conf/domain-types.js';
import type {
  DiskChainAnswer, DiskChainQuery,
  DomainExtraInfo,
  DomainInfo,
  DomainRef,
  DomainStateInfo,
  DriverFactory,
  DriverIdentity,
  HypervisorDriver,
} from '../driver.js';
import { prepareXmlInput, readWithXmlParser } from '../../conf/xml-parse.js';
import { defaultDomainDef } from './default-node.js';
import { loadNodeSnapshots } from './node-snapshots.js';
import type { NodeFileDomain } from './node-file.js';
import { applyTestDomainDefaults } from './test-domain-defaults.js';
import { TestDomainObj } from './test-domain-obj.js';
import type { SnapshotCheckReport } from '../snapshot-check-report.js';
import { checkFlags } from './check-flags.js';
import { clashCheck } from './clash-check.js';
import { sourceOnlyChains } from './test-disk-chains.js';

// Imported on first use, not with the driver: `snapvirt -c test:///default list` needs
// none of them, and each module costs start-up time (docs/PERFORMANCE.md, finding 4).
const snapshotOps = () => import('./test-snapshot-ops.js');
const schemaValidation = () => import('../../conf/schema-validate.js');
const snapshotXml = () => import('../../conf/snapshot-xml.js');
const listFilter = () => import('../../snapshot/list-filter.js');

/** virConnectGetVersion of libvirt's test driver: 0.0.2. */
const TEST_HYPERVISOR_VERSION = 2;

const LIST_DOMAINS_ALL = 0xffff;

/** The test driver: a table of functions over an in-memory set of domains. */
export class TestDriver implements HypervisorDriver {
  private readonly domains: TestDomainObj[] = [];
  private nextId = 1;
  private closed = false;
  readonly block = testBlockDriver((dom) => this.obj(dom).def);
  readonly lifecycle = testLifecycleDriver({
    objOf: (dom) => this.obj(dom), domains: () => this.domains, stop: (vm, reason) => this.stop(vm, reason),
  });

  constructor(private readonly uri: string) {}

  /** Loads the domains of a node (the default one or a node file), as testOpenFromFile does. */
  async load(nodeDomains: NodeFileDomain[]): Promise<void> {
    const snapshotFromElement = nodeDomains.some((nd) => nd.snapshotElements.length > 0)
      ? (await snapshotOps()).snapshotFromNodeFileElement
      : undefined;
    for (const nd of nodeDomains) {
      applyTestDomainDefaults(nd.def);
      clashCheck(this.domains, nd.def);
      const vm = new TestDomainObj(nd.def, !nd.transient);
      if (nd.runstate !== DomainState.SHUTOFF) vm.start(RunningReason.BOOTED, this.nextDomainId());
      else vm.shutoff(ShutoffReason.UNKNOWN);
      // testParseDomains sets the node file's state with reason 0 after starting.
      vm.setState(nd.runstate, 0);
      vm.hasManagedSave = nd.hasManagedSave;
      if (snapshotFromElement) loadNodeSnapshots(vm, nd.snapshotElements, snapshotFromElement);
      this.domains.push(vm);
    }
  }

  /** The next runtime domain id (libvirt's nextDomID). */
  nextDomainId(): number { return this.nextId++; }

  identity(): DriverIdentity {
    return { type: 'TEST', hypervisorVersion: TEST_HYPERVISOR_VERSION, uri: this.uri, hostname: hostname() };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.domains.length = 0;
  }

  // ---- domains --------------------------------------------------------------------------

  async listAllDomains(flags: number): Promise<DomainRef[]> {
    checkFlags(flags, LIST_DOMAINS_ALL, 'testConnectListAllDomains');
    const group = (mask: number, pick: (vm: TestDomainObj) => number) => (vm: TestDomainObj): boolean =>
      (flags & mask) === 0 || (flags & pick(vm)) !== 0;
    const stateFlag = (vm: TestDomainObj): number => {
      switch (vm.state) {
        case DomainState.RUNNING: return LD.RUNNING;
        case DomainState.PAUSED: return LD.PAUSED;
        case DomainState.SHUTOFF: return LD.SHUTOFF;
        default: return LD.OTHER;
      }
    };
    const filters = [
      group(LD.ACTIVE | LD.INACTIVE, (vm) => (vm.isActive() ? LD.ACTIVE : LD.INACTIVE)),
      group(LD.PERSISTENT | LD.TRANSIENT, (vm) => (vm.persistent ? LD.PERSISTENT : LD.TRANSIENT)),
      group(LD.RUNNING | LD.PAUSED | LD.SHUTOFF | LD.OTHER, stateFlag),
      group(LD.MANAGEDSAVE | LD.NO_MANAGEDSAVE, (vm) => (vm.hasManagedSave ? LD.MANAGEDSAVE : LD.NO_MANAGEDSAVE)),
      group(LD.AUTOSTART | LD.NO_AUTOSTART, (vm) => (vm.autostart ? LD.AUTOSTART : LD.NO_AUTOSTART)),
      group(LD.HAS_SNAPSHOT | LD.NO_SNAPSHOT, (vm) => (vm.snapshots.size > 0 ? LD.HAS_SNAPSHOT : LD.NO_SNAPSHOT)),
      group(LD.HAS_CHECKPOINT | LD.NO_CHECKPOINT, () => LD.NO_CHECKPOINT),
    ];
    const matching = this.domains.filter((vm) => filters.every((f) => f(vm)));
    const active = matching.filter((vm) => vm.isActive()).sort((a, b) => a.id - b.id);
    const inactive = matching.filter((vm) => !vm.isActive()).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return [...active, ...inactive].map((vm) => vm.ref());
  }

  async domainLookupByName(name: string): Promise<DomainRef> {
    const vm = this.domains.find((d) => d.name === name);
    if (!vm) throw virError(VirErrorCode.NO_DOMAIN, VirErrorDomain.TEST);
    return vm.ref();
  }

  async domainLookupByUUID(uuid: string): Promise<DomainRef> {
    const vm = this.domains.find((d) => d.uuid.toLowerCase() === uuid.toLowerCase());
    if (!vm) throw virError(VirErrorCode.NO_DOMAIN, VirErrorDomain.TEST);
    return vm.ref();
  }

  async domainLookupByID(id: number): Promise<DomainRef> {
    const vm = this.domains.find((d) => d.isActive() && d.id === id);
    if (!vm) throw virError(VirErrorCode.NO_DOMAIN, VirErrorDomain.TEST);
    return vm.ref();
  }

  async domainDefineXML(xml: string, flags: number): Promise<DomainRef> {
    checkFlags(flags, 0x1, 'testDomainDefineXMLFlags');
    await prepareXmlInput(xml, (flags & 0x1) !== 0);
    // VIR_DOMAIN_DEFINE_VALIDATE
    if (flags & 0x1) (await schemaValidation()).validateAgainstSchema(xml, 'domain');
    const def = this.parseDomain(xml);
    const existing = clashCheck(this.domains, def);
    if (existing) {
      existing.persistent = true;
      existing.assignPersistentDef(def);
      return existing.ref();
    }
    const vm = new TestDomainObj(def, true);
    vm.shutoff(ShutoffReason.UNKNOWN);
    this.domains.push(vm);
    return vm.ref();
  }

  async domainCreateXML(xml: string, flags: number): Promise<DomainRef> {
    checkFlags(flags, 0x10, 'testDomainCreateXML');
    await prepareXmlInput(xml, (flags & 0x10) !== 0);
    // VIR_DOMAIN_START_VALIDATE
    if (flags & 0x10) (await schemaValidation()).validateAgainstSchema(xml, 'domain');
    const def = this.parseDomain(xml);
    const existing = clashCheck(this.domains, def);
    if (existing) {
      if (existing.isActive()) {
        throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.DOMAIN, `domain '${def.name}' is already active`);
      }
      // The persistent definition stays for after shutdown; the new one runs now.
      existing.newDef = existing.def;
      existing.def = def;
      existing.start(RunningReason.BOOTED, this.nextDomainId());
      return existing.ref();
    }
    const vm = new TestDomainObj(def, false);
    vm.start(RunningReason.BOOTED, this.nextDomainId());
    this.domains.push(vm);
    return vm.ref();
  }

  async domainUndefine(dom: DomainRef, flags: number): Promise<void> {
    checkFlags(flags, U.MANAGED_SAVE | U.SNAPSHOTS_METADATA | U.KEEP_NVRAM | U.CHECKPOINTS_METADATA, 'testDomainUndefineFlags');
    const vm = this.obj(dom);
    if (vm.hasManagedSave && !(flags & U.MANAGED_SAVE)) {
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.TEST,
        'Refusing to undefine while domain managed save image exists');
    }
    const nsnapshots = vm.snapshots.size;
    if (!vm.isActive() && nsnapshots > 0 && !(flags & U.SNAPSHOTS_METADATA)) {
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.TEST,
        `cannot delete inactive domain with ${nsnapshots} snapshots`);
    }
    vm.hasManagedSave = false;
    if (vm.isActive()) {
      vm.persistent = false;
      vm.newDef = undefined;
    } else {
      this.remove(vm);
    }
  }

  async domainCreate(dom: DomainRef, flags: number): Promise<DomainRef> {
    checkFlags(flags, 0, 'testDomainCreateWithFlags');
    const vm = this.obj(dom);
    if (vm.state !== DomainState.SHUTOFF) {
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.TEST, `Domain '${vm.name}' is already running`);
    }
    vm.start(RunningReason.BOOTED, this.nextDomainId());
    return vm.ref();
  }

  async domainDestroy(dom: DomainRef, flags: number): Promise<void> {
    checkFlags(flags, 0x1, 'testDomainDestroyFlags');
    const vm = this.obj(dom);
    if (!vm.isActive()) throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.TEST, 'domain is not running');
    this.stop(vm, ShutoffReason.DESTROYED);
  }

  async domainShutdown(dom: DomainRef, flags: number): Promise<void> {
    checkFlags(flags, 0, 'testDomainShutdownFlags');
    const vm = this.obj(dom);
    if (vm.state === DomainState.SHUTOFF) {
      throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.TEST, `domain '${vm.name}' not running`);
    }
    if (!runsOnAfter(vm, 'on_poweroff')) this.stop(vm, ShutoffReason.SHUTDOWN);
  }

  async domainSuspend(dom: DomainRef): Promise<void> {
    const vm = this.obj(dom);
    if (vm.state === DomainState.SHUTOFF || vm.state === DomainState.PAUSED) {
      throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.TEST, `domain '${vm.name}' not running`);
    }
    vm.setState(DomainState.PAUSED, PausedReason.USER);
  }

  async domainResume(dom: DomainRef): Promise<void> {
    const vm = this.obj(dom);
    if (vm.state !== DomainState.PAUSED) {
      throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.TEST, `domain '${vm.name}' not paused`);
    }
    vm.setState(DomainState.RUNNING, RunningReason.UNPAUSED);
  }

  async domainGetState(dom: DomainRef): Promise<DomainStateInfo> {
    const vm = this.obj(dom);
    return { state: vm.state, reason: vm.reason };
  }

  async domainGetInfo(dom: DomainRef): Promise<DomainInfo> {
    const vm = this.obj(dom);
    return {
      state: vm.state,
      maxMemKiB: vm.def.memoryKiB,
      memoryKiB: vm.def.currentMemoryKiB,
      nrVirtCpu: vm.def.vcpus,
      // libvirt's test driver reports the wall clock as CPU time (g_get_real_time() * 1000).
      cpuTimeNs: BigInt(Date.now()) * 1_000_000n,
    };
  }

  async domainGetExtraInfo(dom: DomainRef): Promise<DomainExtraInfo> {
    const vm = this.obj(dom);
    return {
      osType: 'linux',
      persistent: vm.persistent,
      autostart: vm.autostart,
      managedSave: vm.hasManagedSave,
      // Only a running domain has a label; virsh then prints "libvirt-test (enforcing)".
      security: { model: 'testSecurity', doi: '', label: vm.isActive() ? 'libvirt-test' : '', enforcing: true },
    };
  }

  async domainGetXMLDesc(dom: DomainRef, flags: number): Promise<string> {
    checkFlags(flags, DomainXMLFlags.SECURE | DomainXMLFlags.INACTIVE | DomainXMLFlags.MIGRATABLE, 'testDomainGetXMLDesc');
    const vm = this.obj(dom);
    const inactive = (flags & DomainXMLFlags.INACTIVE) !== 0;
    const def = inactive ? vm.persistentDef() : vm.def;
    return formatDomainXML(def, {
      ...(vm.isActive() && !inactive ? { id: vm.id } : {}),
      inactive: inactive || !vm.isActive(),
      secure: (flags & DomainXMLFlags.SECURE) !== 0,
    });
  }

  async domainIsActive(dom: DomainRef): Promise<boolean> { return this.obj(dom).isActive(); }

  async domainIsPersistent(dom: DomainRef): Promise<boolean> { return this.obj(dom).persistent; }

  async domainGetDiskChains(dom: DomainRef, disks: readonly DiskChainQuery[]): Promise<DiskChainAnswer[]> {
    this.obj(dom);
    return sourceOnlyChains(disks);
  }
  async domainQemuMonitorCommand(): Promise<string> { throw virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.DOM, 'virDomainQemuMonitorCommand'); }
  async domainOpenConsole(): Promise<Duplex> { throw virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.DOM, 'virDomainOpenConsole'); }

  // ---- snapshots ------------------------------------------------------------------------

  async snapshotCreateXML(dom: DomainRef, xml: string, flags: number): Promise<string> {
    await prepareXmlInput(xml, (flags & C.VALIDATE) !== 0);
    const { createSnapshot } = await snapshotOps();
    return createSnapshot(this.obj(dom), xml, flags);
  }

  async snapshotListAll(dom: DomainRef, flags: number): Promise<string[]> {
    const { listSnapshotNames, SNAPSHOT_LIST_FLAGS_ALL } = await listFilter();
    checkFlags(flags, SNAPSHOT_LIST_FLAGS_ALL, 'testDomainListAllSnapshots');
    return listSnapshotNames(this.obj(dom).snapshots, undefined, flags);
  }

  async snapshotListAllChildren(dom: DomainRef, snapshot: string, flags: number): Promise<string[]> {
    const { listSnapshotNames, SNAPSHOT_LIST_FLAGS_ALL } = await listFilter();
    checkFlags(flags, SNAPSHOT_LIST_FLAGS_ALL, 'testDomainSnapshotListAllChildren');
    const vm = this.obj(dom);
    vm.snapshots.get(snapshot, VirErrorDomain.TEST);
    return listSnapshotNames(vm.snapshots, snapshot, flags);
  }

  async snapshotLookupByName(dom: DomainRef, name: string): Promise<string> {
    return this.obj(dom).snapshots.get(name, VirErrorDomain.TEST).def.name;
  }

  async snapshotHasCurrent(dom: DomainRef): Promise<boolean> { return this.obj(dom).snapshots.current !== null; }

  async snapshotCurrent(dom: DomainRef): Promise<string> {
    const current = this.obj(dom).snapshots.current;
    if (!current) {
      throw virError(VirErrorCode.NO_DOMAIN_SNAPSHOT, VirErrorDomain.TEST, 'the domain does not have a current snapshot');
    }
    return current.def.name;
  }

  async snapshotGetXMLDesc(dom: DomainRef, snapshot: string, flags: number): Promise<string> {
    checkFlags(flags, SnapshotXMLFlags.SECURE, 'testDomainSnapshotGetXMLDesc');
    const vm = this.obj(dom);
    const def = vm.snapshots.get(snapshot, VirErrorDomain.TEST).def;
    // Without a stored domain libvirt prints <domain><uuid> of the snapshot's domain.
    const printable = def.domain || def.domainUuidOnly ? def : { ...def, domainUuidOnly: vm.uuid };
    const { formatSnapshotXML } = await snapshotXml();
    return formatSnapshotXML(printable, { secure: (flags & SnapshotXMLFlags.SECURE) !== 0 });
  }

  async snapshotGetParent(dom: DomainRef, snapshot: string): Promise<string> {
    const def = this.obj(dom).snapshots.get(snapshot, VirErrorDomain.TEST).def;
    if (def.parent === undefined) {
      throw virError(VirErrorCode.NO_DOMAIN_SNAPSHOT, VirErrorDomain.TEST, `snapshot '${def.name}' does not have a parent`);
    }
    return def.parent;
  }

  async snapshotIsCurrent(dom: DomainRef, snapshot: string): Promise<boolean> {
    const vm = this.obj(dom);
    return vm.snapshots.get(snapshot, VirErrorDomain.TEST) === vm.snapshots.current;
  }

  async snapshotHasMetadata(dom: DomainRef, snapshot: string): Promise<boolean> {
    this.obj(dom).snapshots.get(snapshot, VirErrorDomain.TEST);
    return true;
  }

  async revertToSnapshot(dom: DomainRef, snapshot: string, flags: number): Promise<void> {
    const { revertSnapshot } = await snapshotOps();
    revertSnapshot(this, this.obj(dom), snapshot, flags);
  }

  async snapshotDelete(dom: DomainRef, snapshot: string, flags: number): Promise<void> {
    const { deleteSnapshot } = await snapshotOps();
    deleteSnapshot(this.obj(dom), snapshot, flags);
  }

  async snapshotCheck(dom: DomainRef, flags: number): Promise<SnapshotCheckReport> {
    const { checkTestSnapshots } = await import('./test-snapshot-check.js');
    return checkTestSnapshots(this.obj(dom), flags);
  }

  // ---- helpers --------------------------------------------------------------------------

  /** testDomObjFromDomain: the domain behind a handle, or libvirt's error naming its uuid. */
  private obj(dom: DomainRef): TestDomainObj {
    if (this.closed) throw virError(VirErrorCode.INVALID_CONN, VirErrorDomain.NONE, 'testDomObjFromDomain');
    const vm = this.domains.find((d) => d.uuid.toLowerCase() === dom.uuid.toLowerCase());
    if (!vm) {
      throw virError(VirErrorCode.NO_DOMAIN, VirErrorDomain.TEST, `no domain with matching uuid '${dom.uuid}' (${dom.name})`);
    }
    return vm;
  }

  private parseDomain(xml: string): DomainDef {
    const def = parseDomainXML(xml);
    applyTestDomainDefaults(def);
    return def;
  }

  /** Stops a running domain; a transient one disappears, as in libvirt. */
  private stop(vm: TestDomainObj, reason: number): void {
    vm.shutoff(reason);
    if (!vm.persistent) this.remove(vm);
  }

  private remove(vm: TestDomainObj): void {
    const index = this.domains.indexOf(vm);
    if (index >= 0) this.domains.splice(index, 1);
  }
}

/** The test driver's DriverFactory: test:///default or test:///ABSOLUTE/PATH.xml. */
export const openTestDriver: DriverFactory = async (uri: URL, rawUri: string) => {
  const path = decodeURIComponent(uri.pathname);
  if (path === '' || path === '/') {
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.TEST, 'testOpen: supply a path or use test:///default');
  }
  const driver = new TestDriver(rawUri);
  if (path === '/default') {
    await driver.load([{
      def: defaultDomainDef(),
      runstate: DomainState.RUNNING,
      transient: false,
      hasManagedSave: false,
      snapshotElements: [],
    }]);
  } else {
    const { loadNodeFile } = await import('./node-file.js');
    await driver.load(await readWithXmlParser(() => loadNodeFile(path)));
  }
  return driver;
};
