/**
 * The remote driver: every call of the driver table forwarded over libvirt's RPC protocol
 * to a daemon (snapvirtd, or a libvirtd: both speak it), as libvirt's remote driver does.
 * The daemon's errors come back as the VirError its remote_error carries (code, domain,
 * message), so a remote connection fails exactly as a local one on the daemon's host.
 *
 * Domain lifecycle events are registered with the daemon (remote-events.ts).
 *
 * snapvirt's own calls (snapshot-check, a snapshot's freeze record, disks' backing
 * chains) and snapshot events go through snapvirt's own RPC program (snapvirt-program.ts).
 * A daemon without it (a libvirtd) refuses snapshot-check, the freeze record and the
 * events with VIR_ERR_NO_SUPPORT, and a disk's backing chain is then its source alone,
 * with a note saying why. The console is refused with VIR_ERR_NO_SUPPORT: it needs
 * libvirt's stream procedures, which are not carried yet.
 */
import type { Duplex } from 'node:stream';
import { isVirError, virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import type { DomainState } from '../../api/flags.js';
import { qemuProcedures as Q } from '../../rpc/generated/qemu-protocol.js';
import { remoteProcedures as P, type RemoteNonnullDomainSnapshot } from '../../rpc/generated/remote-protocol.js';
import { QEMU, REMOTE } from '../../rpc/programs.js';
import type {
  DiskChainAnswer, DiskChainQuery, DomainExtraInfo, DomainInfo, DomainRef, DomainStateInfo, DriverFactory,
  DriverIdentity, HypervisorDriver, LifecycleListener, SnapshotEventSink, SnapshotQuiesceInfo,
} from '../driver.js';
import type { DiskChainOrigin } from '../../api/disk-chain.js';
import { snapvirtProcedures as S } from '../../rpc/generated/snapvirt-protocol.js';
import { reportOf } from './wire-check-report.js';
import { jobInfoFromWire, jobStatsFromWire } from '../../rpc/wire-job.js';
import type { DomainJobInfo, DomainJobStats } from '../domain-job-info.js';
import { SnapvirtProgram } from './snapvirt-program.js';
import type { SnapshotCheckReport } from '../snapshot-check-report.js';
import { RemoteEvents } from './remote-events.js';
import { remoteBlockDriver } from './remote-block.js';
import { remoteLifecycleDriver } from './remote-lifecycle.js';
import { remoteGroupSnapshots } from './remote-groups.js';
import type { GroupSnapshotDriver } from '../group-snapshot-driver.js';
import { openRemote } from './remote-open.js';
import type { RpcClient } from './rpc-client.js';
import { uuidBytes } from '../../rpc/wire-uuid.js';
import { cString, domainRef, wireDomain } from './wire-refs.js';

const REMOTE_CHAIN_NOTE = "read through a daemon that is not snapvirtd: libvirt's protocol carries no backing chain, so this is the definition's source alone";

export class RemoteDriver implements HypervisorDriver {
  readonly #client: RpcClient;
  readonly #identity: DriverIdentity;
  readonly #events: RemoteEvents;
  readonly #snapvirt: SnapvirtProgram;
  /** Group snapshots, over snapvirt's own program (remote-groups.ts). */
  readonly groupSnapshots: GroupSnapshotDriver;

  constructor(client: RpcClient, identity: DriverIdentity, eventCallbacks: boolean) {
    this.#client = client;
    this.#identity = identity;
    this.#events = new RemoteEvents(client, eventCallbacks);
    this.#snapvirt = new SnapvirtProgram(client);
    this.groupSnapshots = remoteGroupSnapshots(this.#snapvirt);
  }

  identity(): DriverIdentity { return this.#identity; }

  async close(): Promise<void> {
    if (this.#client.closed) return;
    try {
      await this.#client.call(REMOTE, P.REMOTE_PROC_CONNECT_CLOSE, null);
    } finally {
      this.#client.close();
    }
  }

  #snap(dom: DomainRef, name: string): RemoteNonnullDomainSnapshot { return { name, dom: wireDomain(dom) }; }
  #call: RpcClient['call'] = (program, spec, args) => this.#client.call(program, spec, args);
  /** Reboot, reset, autostart and rename, and the block calls, forwarded as the rest (remote-lifecycle.ts, remote-block.ts). */
  readonly lifecycle = remoteLifecycleDriver(this.#call);
  readonly block = remoteBlockDriver(this.#call);

  // Domains
  async listAllDomains(flags: number): Promise<DomainRef[]> {
    const { domains } = await this.#call(REMOTE, P.REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags });
    return domains.map(domainRef);
  }
  async domainLookupByName(name: string): Promise<DomainRef> {
    return domainRef((await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, { name })).dom);
  }
  async domainLookupByUUID(uuid: string): Promise<DomainRef> {
    return domainRef((await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_LOOKUP_BY_UUID, { uuid: uuidBytes(uuid) })).dom);
  }
  async domainLookupByID(id: number): Promise<DomainRef> {
    return domainRef((await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_LOOKUP_BY_ID, { id })).dom);
  }
  async domainDefineXML(xml: string, flags: number): Promise<DomainRef> {
    const { dom } = flags
      ? await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS, { xml, flags })
      : await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_DEFINE_XML, { xml });
    return domainRef(dom);
  }
  async domainCreateXML(xml: string, flags: number): Promise<DomainRef> {
    return domainRef((await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_CREATE_XML, { xml_desc: xml, flags })).dom);
  }
  async domainUndefine(dom: DomainRef, flags: number): Promise<void> {
    await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS, { dom: wireDomain(dom), flags });
  }
  async domainCreate(dom: DomainRef, flags: number): Promise<DomainRef> {
    // CREATE_WITH_FLAGS answers the domain with its new id (libvirt's plain CREATE needs a second lookup).
    return domainRef((await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_CREATE_WITH_FLAGS, { dom: wireDomain(dom), flags })).dom);
  }
  async domainDestroy(dom: DomainRef, flags: number): Promise<void> {
    if (flags) await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_DESTROY_FLAGS, { dom: wireDomain(dom), flags });
    else await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_DESTROY, { dom: wireDomain(dom) });
  }
  async domainShutdown(dom: DomainRef, flags: number): Promise<void> {
    if (flags) await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_SHUTDOWN_FLAGS, { dom: wireDomain(dom), flags });
    else await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_SHUTDOWN, { dom: wireDomain(dom) });
  }
  async domainSuspend(dom: DomainRef): Promise<void> { await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_SUSPEND, { dom: wireDomain(dom) }); }
  async domainResume(dom: DomainRef): Promise<void> { await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_RESUME, { dom: wireDomain(dom) }); }
  async domainGetState(dom: DomainRef): Promise<DomainStateInfo> {
    const { state, reason } = await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_GET_STATE, { dom: wireDomain(dom), flags: 0 });
    return { state: state as DomainState, reason };
  }
  async domainGetInfo(dom: DomainRef): Promise<DomainInfo> {
    const r = await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_GET_INFO, { dom: wireDomain(dom) });
    return { state: r.state as DomainState, maxMemKiB: Number(r.maxMem), memoryKiB: Number(r.memory), nrVirtCpu: r.nrVirtCpu, cpuTimeNs: r.cpuTime };
  }
  async domainGetExtraInfo(dom: DomainRef): Promise<DomainExtraInfo> {
    const d = wireDomain(dom);
    const osType = (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_GET_OS_TYPE, { dom: d })).type;
    const persistent = (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_IS_PERSISTENT, { dom: d })).persistent !== 0;
    const autostart = (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_GET_AUTOSTART, { dom: d })).autostart !== 0;
    const managedSave = (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_HAS_MANAGED_SAVE_IMAGE, { dom: d, flags: 0 })).result !== 0;
    return { osType, persistent, autostart, managedSave, security: await this.#security(d) };
  }
  /** virsh dominfo's security lines: none when the node has no security model (NO_SUPPORT or an empty one). */
  async #security(dom: ReturnType<typeof wireDomain>): Promise<DomainExtraInfo['security']> {
    let model: string;
    let doi: string;
    try {
      const m = await this.#call(REMOTE, P.REMOTE_PROC_NODE_GET_SECURITY_MODEL, null);
      [model, doi] = [cString(m.model), cString(m.doi)];
    } catch (err) {
      if (isVirError(err, VirErrorCode.NO_SUPPORT)) return null;
      throw err;
    }
    if (model === '') return null;
    const l = await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_GET_SECURITY_LABEL, { dom });
    return { model, doi, label: cString(l.label), enforcing: l.enforcing !== 0 };
  }
  async domainGetXMLDesc(dom: DomainRef, flags: number): Promise<string> {
    return (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_GET_XML_DESC, { dom: wireDomain(dom), flags })).xml;
  }
  async domainGetJobInfo(dom: DomainRef): Promise<DomainJobInfo> {
    return jobInfoFromWire(await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_GET_JOB_INFO, { dom: wireDomain(dom) }));
  }
  async domainGetJobStats(dom: DomainRef, flags: number): Promise<DomainJobStats> {
    return jobStatsFromWire(await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_GET_JOB_STATS, { dom: wireDomain(dom), flags }));
  }
  async domainAbortJob(dom: DomainRef): Promise<void> {
    await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_ABORT_JOB, { dom: wireDomain(dom) });
  }
  async domainIsActive(dom: DomainRef): Promise<boolean> {
    return (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_IS_ACTIVE, { dom: wireDomain(dom) })).active !== 0;
  }
  async domainIsPersistent(dom: DomainRef): Promise<boolean> {
    return (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_IS_PERSISTENT, { dom: wireDomain(dom) })).persistent !== 0;
  }
  async domainGetDiskChains(dom: DomainRef, disks: readonly DiskChainQuery[], live: boolean): Promise<DiskChainAnswer[]> {
    const wireDisks = disks.map((d) => ({ target: d.target, type: d.type, source: d.source ?? null, format: d.format ?? null }));
    try {
      const { chains } = await this.#snapvirt.call(S.SNAPVIRT_PROC_DOMAIN_GET_DISK_CHAINS, { dom: wireDomain(dom), disks: wireDisks, live: live ? 1 : 0 }, 'domainGetDiskChains');
      return chains.map((c) => ({ layers: c.layers, origin: c.origin as DiskChainOrigin, ...(c.note === null ? {} : { note: c.note }) }));
    } catch (err) {
      if (!this.#snapvirt.absent) throw err;
    }
    // Not snapvirtd: one call, so a domain that is gone is reported as the daemon reports it.
    await this.domainIsActive(dom);
    return disks.map((d) => ({
      layers: d.source === undefined ? [] : [{ path: d.source, format: d.format ?? 'raw' }],
      origin: 'definition',
      note: REMOTE_CHAIN_NOTE,
    }));
  }
  async domainQemuMonitorCommand(dom: DomainRef, command: string, flags: number): Promise<string> {
    return (await this.#call(QEMU, Q.QEMU_PROC_DOMAIN_MONITOR_COMMAND, { dom: wireDomain(dom), cmd: command, flags })).result;
  }

  // Snapshots
  async snapshotCreateXML(dom: DomainRef, xml: string, flags: number): Promise<string> {
    return (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_SNAPSHOT_CREATE_XML, { dom: wireDomain(dom), xml_desc: xml, flags })).snap.name;
  }
  async snapshotListAll(dom: DomainRef, flags: number): Promise<string[]> {
    const { snapshots } = await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_LIST_ALL_SNAPSHOTS, { dom: wireDomain(dom), need_results: 1, flags });
    return snapshots.map((s) => s.name);
  }
  async snapshotListAllChildren(dom: DomainRef, snapshot: string, flags: number): Promise<string[]> {
    const { snapshots } = await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN, { snapshot: this.#snap(dom, snapshot), need_results: 1, flags });
    return snapshots.map((s) => s.name);
  }
  async snapshotLookupByName(dom: DomainRef, name: string): Promise<string> {
    return (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_SNAPSHOT_LOOKUP_BY_NAME, { dom: wireDomain(dom), name, flags: 0 })).snap.name;
  }
  async snapshotHasCurrent(dom: DomainRef): Promise<boolean> {
    return (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_HAS_CURRENT_SNAPSHOT, { dom: wireDomain(dom), flags: 0 })).result !== 0;
  }
  async snapshotCurrent(dom: DomainRef): Promise<string> {
    return (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_SNAPSHOT_CURRENT, { dom: wireDomain(dom), flags: 0 })).snap.name;
  }
  async snapshotGetXMLDesc(dom: DomainRef, snapshot: string, flags: number): Promise<string> {
    return (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_SNAPSHOT_GET_XML_DESC, { snap: this.#snap(dom, snapshot), flags })).xml;
  }
  async snapshotGetParent(dom: DomainRef, snapshot: string): Promise<string> {
    return (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_SNAPSHOT_GET_PARENT, { snap: this.#snap(dom, snapshot), flags: 0 })).snap.name;
  }
  async snapshotIsCurrent(dom: DomainRef, snapshot: string): Promise<boolean> {
    return (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_SNAPSHOT_IS_CURRENT, { snap: this.#snap(dom, snapshot), flags: 0 })).current !== 0;
  }
  async snapshotHasMetadata(dom: DomainRef, snapshot: string): Promise<boolean> {
    return (await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_SNAPSHOT_HAS_METADATA, { snap: this.#snap(dom, snapshot), flags: 0 })).metadata !== 0;
  }
  async revertToSnapshot(dom: DomainRef, snapshot: string, flags: number): Promise<void> {
    await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_REVERT_TO_SNAPSHOT, { snap: this.#snap(dom, snapshot), flags });
  }
  async snapshotDelete(dom: DomainRef, snapshot: string, flags: number): Promise<void> {
    await this.#call(REMOTE, P.REMOTE_PROC_DOMAIN_SNAPSHOT_DELETE, { snap: this.#snap(dom, snapshot), flags });
  }
  // Events
  domainEventRegister(dom: DomainRef | null, listener: LifecycleListener): Promise<number> { return this.#events.register(dom, listener); }
  domainEventDeregister(callbackID: number): Promise<void> { return this.#events.deregister(callbackID); }

  // snapvirt's own calls and events (snapvirt-program.ts)
  async snapshotCheck(dom: DomainRef, flags: number): Promise<SnapshotCheckReport> {
    return reportOf(await this.#snapvirt.call(S.SNAPVIRT_PROC_DOMAIN_SNAPSHOT_CHECK, { dom: wireDomain(dom), flags }, 'virDomainSnapshotCheck'));
  }
  async snapshotGetQuiesceInfo(dom: DomainRef, snapshot: string): Promise<SnapshotQuiesceInfo> {
    const r = await this.#snapvirt.call(S.SNAPVIRT_PROC_DOMAIN_SNAPSHOT_GET_QUIESCE_INFO, { snap: this.#snap(dom, snapshot) }, 'snapshotGetQuiesceInfo');
    return { quiesced: r.quiesced !== 0, frozenFilesystems: r.frozen_filesystems < 0 ? null : r.frozen_filesystems };
  }
  watchSnapshotEvents(sink: SnapshotEventSink): Promise<void> { return this.#snapvirt.watch(sink); }
  unwatchSnapshotEvents(): Promise<void> { return this.#snapvirt.unwatch(); }
  async domainOpenConsole(): Promise<Duplex> {
    throw virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.REMOTE, 'virDomainOpenConsole');
  }
}

/** The factory uri.ts registers for `driver+transport` schemes. */
export const openRemoteDriver: DriverFactory = async (url, rawUri, options) => {
  const { client, identity, eventCallbacks } = await openRemote(rawUri, url, options?.readOnly ?? false);
  return new RemoteDriver(client, identity, eventCallbacks);
};
