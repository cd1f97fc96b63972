/**
 * The QEMU driver (qemu:///system, qemu:///session): definitions and snapshot metadata
 * in the SQLite store under the state directory; shut-off disks handled with qemu-img,
 * running domains (persistent or transient) through their QEMU's monitor (domain/, qmp/,
 * the snapshot/ files named active).
 *
 * Deliberate differences from libvirt 9.0's offline behaviour (for docs/COMPATIBILITY.md):
 * - every create/revert/delete is all-or-nothing and crash-safe (journal + recovery);
 * - overlays are mode 0600 (libvirt < 11.10 made inactive overlays 0644);
 * - external revert works (libvirt 9.9's model: fresh overlays on the frozen images);
 * - revert to an internal snapshot whose image is the backing file of another image copies
 *   the snapshot's data into a new image (libvirt applies the tag in place, which
 *   corrupts what that overlay presents);
 * - external delete is done with qemu-img (no QEMU process), and keeps the files as they
 *   are when merging could change what another image reads;
 * - an image held open by another process is refused up front;
 * - snapshot names with '/' are refused even with NO_METADATA (they name overlay files).
 */
import type { DomainWatch } from '../domain-watch.js';
import { QemuDomainWatch } from './domain/domain-watch.js';
import { useRunStatusSource } from './domain/run-status-source.js';
import { hostname } from 'node:os';
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import {
  DomainState, DomainUndefineFlags as U, SnapshotCreateFlags as C, ShutoffReason,
} from '../../api/flags.js';
import type { DomainDef } from '../../conf/domain-types.js';
import { noSnapshotWithName, type SnapshotTree } from '../../snapshot/snapshot-tree.js';
import { parseDomainXML } from '../../conf/domain-xml.js';
import { checkDefinitionForQemu } from './domain/definition-check.js';
import { openConsole } from './domain/console-stream.js';
import type { Duplex } from 'node:stream';
import { checkDomainName } from '../../conf/name-rules.js';
import { formatSnapshotXML } from '../../conf/snapshot-xml.js';
import { validateAgainstSchema } from '../../conf/schema-validate.js';
import { listSnapshotNames } from '../../snapshot/list-filter.js';
import { prepareXmlInput } from '../../conf/xml-parse.js';
import { refuseSharedDiskFiles } from './domain/shared-disk-files.js';
import type { Store } from '../../store/index.js';
import type {
  DiskChainAnswer, DiskChainQuery, DomainExtraInfo, DomainInfo, DomainRef, DomainStateInfo, DriverIdentity,
  HypervisorDriver, SnapshotQuiesceInfo,
} from '../driver.js';
import { domainMatchesListFlags } from './domain/domain-list-filter.js';
import { deleteInactiveSnapshot } from './snapshot/delete/delete-inactive.js';
import { forgetOfflineDomainState, PersistedShutoffReasons } from './catalog/domain-state.js';
import { lockDomain, type TxnContext } from '../../txn/index.js';
import { revertInactiveSnapshot } from './snapshot/revert/revert-inactive.js';
import { createInactiveSnapshot } from './snapshot/create/create-inactive.js';
import { checkQemuFlags } from './qemu-flags.js';
import { planNvramUndefine } from './firmware/undefine-nvram.js';
import { planTpmUndefine } from './tpm/undefine-tpm.js';
import { QEMU_VERSION } from './qemu-identity.js';
import {
  domainRecordXml, loadDomain, loadDomainRecord, loadTree, noDomainByName, storedDomainXmlFor, type LoadedDomain,
} from './catalog/snapshot-catalog.js';
import { unchangedSnapshotXml } from './catalog/lazy-snapshot-def.js';
import {
  destroyDomain, isDomainRunning, lastShutoffReason, liveRuntime, monitorCommand, recordedDomainId,
  resumeDomain, runningDomainInfo, runningDomainState, runningDomainWithId, runningDomainXml, shutdownDomain, startDomain, suspendDomain,
} from './domain/active-domains.js';
import { createActiveSnapshot } from './snapshot/create/create-active.js';
import { revertNeedsProcess, revertWithProcess } from './snapshot/revert/revert-active.js';
import { deleteActiveSnapshot } from './snapshot/delete/delete-active.js';
import { domainNotRunning } from './qmp/domain-monitor.js';
import {
  checkNameAndUuid, createDomainFromDef, destroyAutodestroyDomains, domainVanished, forgetVanishedNamesakes,
  makeTransient,
} from './domain/transient-domain.js';
import { checkQemuSnapshots } from './check/snapshot-check.js';
import { refuseLoopingDisks } from './images/chain-inspect.js';
import { qemuDiskChains } from './images/disk-chains.js';
import type { SnapshotCheckReport } from '../snapshot-check-report.js';
import { QemuGroupSnapshots } from './group/qemu-group-snapshots.js';
import { revertTransient } from './snapshot/revert/revert-transient.js';
import { domainAbortJob, domainJobInfo, domainJobStats, type DomainJobInfo, type DomainJobStats } from './domain/domain-jobs.js';
import { QemuBlock } from './block/qemu-block.js';
import { QemuDomainLifecycle } from './domain/qemu-domain-lifecycle.js';

const SNAP = VirErrorDomain.QEMU;

/** The offline QEMU driver over one state store. */
export class QemuDriver implements HypervisorDriver {
  /** Shut-off reasons set by this driver (after a revert: from snapshot), persisted in the state dir. */
  readonly #shutoffReason = new PersistedShutoffReasons(() => this.store);

  readonly store: Store;
  readonly groupSnapshots: QemuGroupSnapshots;
  readonly block: QemuBlock;

  /** `releaseStore`: what close() does with the store (closes it, or gives it back to the pool that lent it). */
  constructor(readonly ctx: TxnContext, readonly uri: string, private readonly releaseStore: () => void = () => ctx.store.close()) {
    this.store = ctx.store;
    this.groupSnapshots = new QemuGroupSnapshots(ctx);
    this.block = new QemuBlock(ctx);
  }
  get lifecycle(): QemuDomainLifecycle { return new QemuDomainLifecycle(this.ctx); }

  writeRefusal(): Error | undefined {
    return this.store.writeRefusal;
  }

  identity(): DriverIdentity {
    return { type: 'QEMU', hypervisorVersion: QEMU_VERSION, uri: this.uri, hostname: hostname() };
  }

  async close(): Promise<void> {
    await destroyAutodestroyDomains(this.ctx);
    this.releaseStore();
  }

  #ref(uuid: string, name: string): DomainRef {
    return { uuid, name, id: recordedDomainId(this.ctx, uuid) };
  }

  /**
   * Loads the domain behind a handle for the read calls: a transient domain whose QEMU
   * died is forgotten on the way, and then not found, as in libvirt.
   */
  async #load(dom: DomainRef): Promise<LoadedDomain> {
    await domainVanished(this.ctx, dom.uuid);
    return loadDomain(this.store, dom);
  }
  /** As #load, for a call that needs only the record: the definition is not parsed. */
  async #loadRecord(dom: DomainRef): Promise<void> {
    await domainVanished(this.ctx, dom.uuid);
    loadDomainRecord(this.store, dom);
  }

  // ---- Domains ----

  async listAllDomains(flags: number): Promise<DomainRef[]> {
    const records = [];
    // A transient domain whose QEMU died is forgotten on the way.
    for (const r of this.store.domains.list()) if (!await domainVanished(this.ctx, r.uuid)) records.push(r);
    // Probing each recorded QEMU also marks those that died as shut off.
    const active = new Set<string>();
    for (const r of records) if (r.runtime !== null && await isDomainRunning(this.ctx, r.uuid)) active.add(r.uuid);
    return records
      .filter((r) => domainMatchesListFlags({
        active: active.has(r.uuid), persistent: r.persistent, autostart: r.autostart,
        snapshotCount: this.store.snapshots.list(r.uuid).length,
      }, flags))
      .map((r) => this.#ref(r.uuid, r.name));
  }

  async domainLookupByName(name: string): Promise<DomainRef> {
    const rec = this.store.domains.getByName(name);
    if (!rec || await domainVanished(this.ctx, rec.uuid)) throw noDomainByName(name);
    return this.#ref(rec.uuid, rec.name);
  }

  async domainLookupByUUID(uuid: string): Promise<DomainRef> {
    const rec = this.store.domains.get(uuid.toLowerCase());
    if (!rec || await domainVanished(this.ctx, rec.uuid)) throw virError(VirErrorCode.NO_DOMAIN, VirErrorDomain.QEMU, `no domain with matching uuid '${uuid}'`);
    return this.#ref(rec.uuid, rec.name);
  }

  async domainLookupByID(id: number): Promise<DomainRef> {
    const rec = id > 0 ? await runningDomainWithId(this.ctx, id) : undefined;
    if (rec && !await domainVanished(this.ctx, rec.uuid)) return this.#ref(rec.uuid, rec.name);
    throw virError(VirErrorCode.NO_DOMAIN, VirErrorDomain.QEMU, `no domain with matching id ${id}`);
  }

  /** Parses domain XML for define and create: libvirt's schema check on request, name rules, a QEMU virt type. */
  async #parseDomain(xml: string, validate: boolean): Promise<DomainDef> {
    if (validate) validateAgainstSchema(xml, 'domain');
    const def = parseDomainXML(xml);
    checkDomainName(def.name);
    if (def.type !== 'qemu' && def.type !== 'kvm') {
      throw virError(VirErrorCode.CONFIG_UNSUPPORTED, VirErrorDomain.QEMU, `virt type '${def.type}' is not supported by the QEMU driver`);
    }
    await checkDefinitionForQemu(def);
    return def;
  }

  async domainDefineXML(xml: string, flags: number): Promise<DomainRef> {
    checkQemuFlags(flags, 'defineXML');
    await prepareXmlInput(xml, (flags & 0x1) !== 0);
    const def = await this.#parseDomain(xml, (flags & 0x1) !== 0);
    await refuseSharedDiskFiles(def);
    await refuseLoopingDisks(def);
    await forgetVanishedNamesakes(this.ctx, def);
    checkNameAndUuid(this.store, def);
    const persistentXml = domainRecordXml(def);
    await lockDomain(this.ctx, def.uuid, 'define', async () => {
      this.store.transaction(() => {
        // Defining a running transient domain's XML makes it persistent; it runs on unchanged.
        if (checkNameAndUuid(this.store, def)) this.store.domains.update(def.uuid, { persistentXml, persistent: true });
        else this.store.domains.insert({ uuid: def.uuid, name: def.name, persistentXml, liveXml: null, persistent: true, autostart: false, runtime: null });
      });
    });
    return this.#ref(def.uuid, def.name);
  }

  async domainCreateXML(xml: string, flags: number): Promise<DomainRef> {
    checkQemuFlags(flags, 'createXML');
    await prepareXmlInput(xml, (flags & 0x10) !== 0);
    const def = await this.#parseDomain(xml, (flags & 0x10 /* VIR_DOMAIN_START_VALIDATE */) !== 0);
    await refuseSharedDiskFiles(def);
    return createDomainFromDef(this.ctx, def, flags);
  }

  async domainUndefine(dom: DomainRef, flags: number): Promise<void> {
    checkQemuFlags(flags, 'undefine');
    await lockDomain(this.ctx, dom.uuid, 'undefine', async () => {
      const { record, def } = loadDomain(this.store, dom);
      if (!record.persistent) throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, 'cannot undefine transient domain');
      const removeNvram = planNvramUndefine(def, flags, this.store.stateDir, record.uuid);
      const removeTpm = planTpmUndefine(def, flags, this.store.stateDir, record.uuid);
      // A running domain becomes transient and runs on (libvirt counts snapshots only for
      // inactive domains; the metadata goes when the transient domain stops).
      if (await isDomainRunning(this.ctx, record.uuid)) {
        makeTransient(this.store, record.uuid);
        return;
      }
      const count = this.store.snapshots.list(record.uuid).length;
      if (count > 0 && !(flags & U.SNAPSHOTS_METADATA)) {
        throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, `cannot delete inactive domain with ${count} snapshots`);
      }
      // Metadata only: the images (and overlays) stay on disk, as with libvirt.
      this.store.transaction(() => {
        this.store.snapshots.deleteAll(record.uuid);
        this.store.domains.delete(record.uuid);
        // The files snapvirt made become the user's: never discarded by a later namesake.
        forgetOfflineDomainState(this.store, record.uuid);
      });
      removeNvram();
      removeTpm();
    });
  }

  async domainCreate(dom: DomainRef, flags: number): Promise<DomainRef> {
    // A handle to a transient domain that stopped must not bring it back.
    await this.#load(dom);
    return startDomain(this.ctx, dom, flags);
  }

  async domainDestroy(dom: DomainRef, flags: number): Promise<void> {
    await this.#load(dom);
    await destroyDomain(this.ctx, dom, flags);
  }

  async domainShutdown(dom: DomainRef, flags: number): Promise<void> { await this.#load(dom); await shutdownDomain(this.ctx, dom, flags); }
  async domainSuspend(dom: DomainRef): Promise<void> { await this.#load(dom); await suspendDomain(this.ctx, dom); }
  async domainResume(dom: DomainRef): Promise<void> { await this.#load(dom); await resumeDomain(this.ctx, dom); }

  async domainGetState(dom: DomainRef): Promise<DomainStateInfo> {
    await this.#loadRecord(dom);
    const rt = await liveRuntime(this.ctx, dom.uuid);
    if (rt) return runningDomainState(this.ctx, dom, rt);
    return {
      state: DomainState.SHUTOFF,
      reason: this.#shutoffReason.get(dom.uuid) ?? lastShutoffReason(this.ctx, dom.uuid) ?? ShutoffReason.UNKNOWN,
    };
  }

  async domainGetInfo(dom: DomainRef): Promise<DomainInfo> {
    const { def } = await this.#load(dom);
    const rt = await liveRuntime(this.ctx, dom.uuid);
    if (rt) return runningDomainInfo(this.ctx, dom, rt);
    return { state: DomainState.SHUTOFF, maxMemKiB: def.memoryKiB, memoryKiB: def.currentMemoryKiB, nrVirtCpu: def.vcpus, cpuTimeNs: 0n };
  }

  async domainGetExtraInfo(dom: DomainRef): Promise<DomainExtraInfo> {
    const { def, record } = await this.#load(dom);
    return { osType: def.osType, persistent: record.persistent, autostart: record.autostart, managedSave: false, security: null };
  }

  async domainGetXMLDesc(dom: DomainRef, flags: number): Promise<string> {
    checkQemuFlags(flags, 'getXMLDesc');
    if (!(flags & 0x2 /* VIR_DOMAIN_XML_INACTIVE */)) {
      await this.#load(dom);
      const rt = await liveRuntime(this.ctx, dom.uuid);
      if (rt) return runningDomainXml(this.ctx, dom, rt, flags);
    }
    // A transient domain has only its live definition (libvirt formats it without the id).
    const { record } = await this.#load(dom);
    return storedDomainXmlFor(record.persistentXml ?? record.liveXml ?? '', (flags & 0x1 /* VIR_DOMAIN_XML_SECURE */) !== 0);
  }

  async domainIsActive(dom: DomainRef): Promise<boolean> { await this.#load(dom); return isDomainRunning(this.ctx, dom.uuid); }
  async domainIsPersistent(dom: DomainRef): Promise<boolean> { return (await this.#load(dom)).record.persistent; }

  async domainGetDiskChains(dom: DomainRef, disks: readonly DiskChainQuery[], live: boolean): Promise<DiskChainAnswer[]> {
    await this.#load(dom);
    return qemuDiskChains(this.ctx, dom, disks, live);
  }

  async domainQemuMonitorCommand(dom: DomainRef, command: string, flags: number): Promise<string> {
    loadDomain(this.store, dom);
    return monitorCommand(this.ctx, dom, command, flags);
  }
  async domainOpenConsole(dom: DomainRef, devname: string | undefined): Promise<Duplex> { loadDomain(this.store, dom); return openConsole(this.ctx, dom, devname); }
  domainGetJobInfo(dom: DomainRef): Promise<DomainJobInfo> { return domainJobInfo(this.ctx, dom); }
  domainGetJobStats(dom: DomainRef, flags: number): Promise<DomainJobStats> { return domainJobStats(this.ctx, dom, flags); }
  domainAbortJob(dom: DomainRef): Promise<void> { return domainAbortJob(this.ctx, dom); }

  // ---- Snapshots ----

  async snapshotCreateXML(dom: DomainRef, xml: string, flags: number): Promise<string> {
    await prepareXmlInput(xml, (flags & C.VALIDATE) !== 0);
    // The record only: the create paths parse the definition again under the domain lock.
    await domainVanished(this.ctx, dom.uuid);
    const record = loadDomainRecord(this.store, dom);
    if ((flags & C.HALT) && !record.persistent) {
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, 'cannot halt after transient domain snapshot');
    }
    if (await isDomainRunning(this.ctx, dom.uuid)) return createActiveSnapshot(this.ctx, dom, xml, flags);
    // A transient domain has no shut-off life for the offline paths: its QEMU just died.
    if (!record.persistent) throw domainNotRunning();
    return lockDomain(this.ctx, dom.uuid, 'snapshot-create', (lock) => createInactiveSnapshot(this.ctx, lock, dom, xml, flags));
  }

  /**
   * The domain's snapshot tree for read calls. A listing calls the driver once per
   * snapshot, so the tree is cached until the store changes (by this process or another).
   */
  #tree(dom: DomainRef): SnapshotTree {
    const cached = this.#cachedTree(dom);
    if (cached) return cached;
    const stamp = this.store.changeStamp();
    const record = loadDomainRecord(this.store, dom);
    const tree = loadTree(this.store, record.uuid);
    this.#trees.set(dom.uuid, { stamp, tree });
    return tree;
  }
  #trees = new Map<string, { stamp: string; tree: SnapshotTree }>();

  /** The domain's cached tree if nothing in the store changed since it was built (the domain included), else undefined. */
  #cachedTree(dom: DomainRef): SnapshotTree | undefined {
    const cached = this.#trees.get(dom.uuid);
    return cached?.stamp === this.store.changeStamp() ? cached.tree : undefined;
  }

  async snapshotListAll(dom: DomainRef, flags: number): Promise<string[]> {
    checkQemuFlags(flags, 'snapshotListAll');
    return listSnapshotNames(this.#tree(dom), undefined, flags);
  }

  async snapshotListAllChildren(dom: DomainRef, snapshot: string, flags: number): Promise<string[]> {
    checkQemuFlags(flags, 'snapshotListAllChildren');
    const tree = this.#tree(dom);
    tree.get(snapshot, SNAP);
    return listSnapshotNames(tree, snapshot, flags);
  }

  async snapshotLookupByName(dom: DomainRef, name: string): Promise<string> {
    // Without the tree at hand, one indexed lookup: snapshot-delete, -revert, -info, …
    // look the snapshot up first, and loading a tree of 10,000 for that is most of their cost.
    const tree = this.#cachedTree(dom);
    if (tree) return tree.get(name, SNAP).def.name;
    const record = loadDomainRecord(this.store, dom);
    if (!this.store.snapshots.has(record.uuid, name)) throw noSnapshotWithName(name, SNAP);
    return name;
  }

  async snapshotHasCurrent(dom: DomainRef): Promise<boolean> {
    return this.#tree(dom).current !== null;
  }

  async snapshotCurrent(dom: DomainRef): Promise<string> {
    // As snapshotLookupByName: an indexed lookup unless the tree is at hand.
    const tree = this.#cachedTree(dom);
    const current = tree ? tree.currentName : this.store.snapshots.currentName(loadDomainRecord(this.store, dom).uuid);
    if (current === undefined) {
      throw virError(VirErrorCode.NO_DOMAIN_SNAPSHOT, SNAP, 'the domain does not have a current snapshot');
    }
    return current;
  }

  async snapshotGetXMLDesc(dom: DomainRef, snapshot: string, flags: number): Promise<string> {
    checkQemuFlags(flags, 'snapshotGetXMLDesc');
    const def = this.#tree(dom).get(snapshot, SNAP).def;
    const secure = (flags & 0x1) !== 0;
    return unchangedSnapshotXml(def, secure) ?? formatSnapshotXML(def, { secure });
  }

  async snapshotGetParent(dom: DomainRef, snapshot: string): Promise<string> {
    const tree = this.#tree(dom);
    const node = tree.get(snapshot, SNAP);
    const parent = tree.parentOf(snapshot);
    if (!parent) {
      throw virError(VirErrorCode.NO_DOMAIN_SNAPSHOT, SNAP, `snapshot '${node.def.name}' does not have a parent`);
    }
    return parent.def.name;
  }

  async snapshotIsCurrent(dom: DomainRef, snapshot: string): Promise<boolean> {
    const tree = this.#tree(dom);
    tree.get(snapshot, SNAP);
    return tree.currentName === snapshot;
  }

  async snapshotHasMetadata(dom: DomainRef, snapshot: string): Promise<boolean> {
    this.#tree(dom).get(snapshot, SNAP);
    return true;
  }

  async snapshotGetQuiesceInfo(dom: DomainRef, snapshot: string): Promise<SnapshotQuiesceInfo> {
    const { record } = loadDomain(this.store, dom);
    const row = this.store.snapshots.get(record.uuid, this.#tree(dom).get(snapshot, SNAP).def.name);
    return { quiesced: row?.quiesced === true, frozenFilesystems: row?.frozenFilesystems ?? null };
  }

  async revertToSnapshot(dom: DomainRef, snapshot: string, flags: number): Promise<void> {
    if (!(await this.#load(dom)).record.persistent) {
      await revertTransient(this.ctx, dom, snapshot, this.#tree(dom).get(snapshot, SNAP).def.state, flags);
      return;
    }
    if (await revertNeedsProcess(this.ctx, dom, snapshot, flags)) {
      const end = await revertWithProcess(this.ctx, dom, snapshot, flags);
      if (end === 'shutoff') this.#shutoffReason.set(dom.uuid, ShutoffReason.FROM_SNAPSHOT);
      else this.#shutoffReason.delete(dom.uuid);
      return;
    }
    await lockDomain(this.ctx, dom.uuid, 'snapshot-revert', (lock) => revertInactiveSnapshot(this.ctx, lock, dom, snapshot, flags));
    this.#shutoffReason.set(dom.uuid, ShutoffReason.FROM_SNAPSHOT);
  }

  async snapshotDelete(dom: DomainRef, snapshot: string, flags: number): Promise<void> {
    const { record } = await this.#load(dom);
    if (await isDomainRunning(this.ctx, dom.uuid)) return deleteActiveSnapshot(this.ctx, dom, snapshot, flags);
    if (!record.persistent) throw domainNotRunning();
    await lockDomain(this.ctx, dom.uuid, 'snapshot-delete', (lock) => deleteInactiveSnapshot(this.ctx, lock, dom, snapshot, flags));
  }

  async snapshotCheck(dom: DomainRef, flags: number): Promise<SnapshotCheckReport> {
    return checkQemuSnapshots(this.ctx, dom, flags);
  }

  openDomainWatch(): DomainWatch { return new QemuDomainWatch(this.store.stateDir); }
  useDomainWatch(watch: DomainWatch): void {
    if (watch instanceof QemuDomainWatch && watch.stateDir === this.store.stateDir) useRunStatusSource(this.ctx, watch);
  }
}
