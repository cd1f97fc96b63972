/**
 * The public entry point: connect(uri) opens a Connection to a driver; domains and
 * snapshots are reached through it, as with virConnectOpen in libvirt.
 */
import { EventEmitter } from 'node:events';
import type { DomainRef, HypervisorDriver } from '../drivers/driver.js';
import { Domain } from './domain.js';
import { DomainEventID, type DomainEventType, type DomainLifecycleCallback } from './domain-events.js';
import { virError, VirErrorCode, VirErrorDomain } from './errors.js';
import type { ListDomainsFlags, SnapshotCreateFlags, UntypedFlags } from './flags.js';
import { GroupSnapshot, groupDriverOf, groupSnapshotCreateXML } from './group-snapshot.js';
import { LIBVIRT_API_VERSION } from './lib-version.js';
import { SnapshotEventFeed } from './snapshot-event-feed.js';
import type { ConnectionEvents, SnapshotEventKind } from './snapshot-events.js';
import { defaultURI, driverFactoryFor } from './uri.js';
import type { StorePool } from '../store/store-pool.js';
import { LocalLifecycleEvents, observeLifecycleChanges } from './local-lifecycle-events.js';

export { LIBVIRT_API_VERSION };

/**
 * An open connection to one hypervisor driver (virConnectPtr). Close it with close(), or
 * let `await using conn = await connect(uri)` close it (Symbol.asyncDispose). After
 * close(), every call on it and on the domains and snapshots reached through it throws
 * VIR_ERR_INVALID_CONN ("invalid connection pointer in <libvirt function>").
 *
 * Beyond libvirt, a Connection is an EventEmitter of snapshot events (snapshot-events.ts):
 * `conn.on('snapshot', ({ kind, domain, snapshot }) => …)`, or the async iterator
 * `events.on(conn, 'snapshot')`. Locally, the events of this connection's own calls;
 * through snapvirtd, those of every client of the daemon.
 */
export class Connection extends EventEmitter<ConnectionEvents> implements AsyncDisposable {
  #driver: HypervisorDriver;
  /** The driver as calls see it once local lifecycle events are registered: a look after each change. */
  #observed: HypervisorDriver | undefined;
  #localEvents: LocalLifecycleEvents | undefined;
  #closed = false;

  readonly #readOnly: boolean;
  readonly #snapshotFeed: SnapshotEventFeed;

  private constructor(driver: HypervisorDriver, readOnly: boolean) {
    super();
    this.#driver = driver;
    this.#readOnly = readOnly;
    this.#snapshotFeed = new SnapshotEventFeed(driver, {
      listenerCount: (name) => this.listenerCount(name),
      raiseSnapshotEvent: (ref, snapshot, kind) => this.emit('snapshot', { kind, domain: this.#wrap(ref), snapshot }),
      raiseError: (err) => {
        if (this.listenerCount('error') > 0) this.emit('error', err);
        else process.emitWarning(`snapvirt: snapshot events are not delivered on ${driver.identity().uri}: ${err.message}`);
      },
    });
    this.on('newListener', this.#onNewListener);
    this.on('removeListener', this.#onRemoveListener);
  }

  // Follow the 'snapshot' listeners: Node emits newListener before an addition, removeListener after a removal.
  readonly #onNewListener = (name: string | symbol): void => {
    if (name === 'snapshot') this.#snapshotFeed.listenersChanged(this.listenerCount('snapshot') + 1);
  };
  readonly #onRemoveListener = (name: string | symbol): void => {
    if (name === 'snapshot') this.#snapshotFeed.listenersChanged(this.listenerCount('snapshot'));
  };

  /** As EventEmitter's; removing every listener (or Node's own events') keeps the connection following its 'snapshot' listeners. */
  override removeAllListeners(eventName?: keyof ConnectionEvents): this {
    // Node tells "no argument" (every event) from an undefined one by the argument count.
    if (eventName === undefined) super.removeAllListeners();
    else super.removeAllListeners(eventName);
    if (eventName === undefined || eventName === 'newListener') this.on('newListener', this.#onNewListener);
    if (eventName === undefined || eventName === 'removeListener') this.on('removeListener', this.#onRemoveListener);
    return this;
  }

  /**
   * Resolves once the snapshot listeners added so far are registered where the events
   * come from: at once locally; through snapvirtd, when the daemon has the registration
   * (events of other clients' operations reach this connection from then on). After
   * close(), VIR_ERR_INVALID_CONN as every call.
   */
  async snapshotEventsReady(): Promise<void> {
    this.driverFor('virConnectSnapshotEventsReady');
    await this.#snapshotFeed.settled();
  }

  /** @internal Raises a snapshot event for this connection's own call, when the driver does not deliver them itself. */
  snapshotChanged(dom: DomainRef, snapshots: readonly string[], kind: SnapshotEventKind): void {
    if (!this.#snapshotFeed.wanted) return;
    for (const snapshot of snapshots) this.emit('snapshot', { kind, domain: this.#wrap(dom), snapshot });
  }

  /** @internal Whether the API should raise snapshot events itself (someone listens, and the driver does not deliver them). */
  get snapshotEventsWanted(): boolean { return this.#snapshotFeed.wanted; }

  /** @internal A connection over an opened driver (connect() is the public way in). */
  static over(driver: HypervisorDriver, readOnly: boolean): Connection { return new Connection(driver, readOnly); }

  /**
   * @internal The driver for a call of the libvirt function `functionName`; throws
   * VIR_ERR_INVALID_CONN once the connection is closed. `errorDomain` is the subsystem
   * libvirt reports from (the file the function lives in).
   */
  driverFor(functionName: string, errorDomain: VirErrorDomain = VirErrorDomain.NONE): HypervisorDriver {
    if (this.#closed) throw virError(VirErrorCode.INVALID_CONN, errorDomain, functionName);
    return this.#observed ?? this.#driver;
  }

  /** @internal The driver whether or not the connection is open (tests, the CLI's `version`). */
  get driver(): HypervisorDriver { return this.#driver; }

  /** Whether the connection was opened read-only (virConnectOpenReadOnly). Throws VIR_ERR_INVALID_CONN after close(). */
  isReadOnly(): boolean { this.driverFor('virConnectIsReadOnly'); return this.#readOnly; }

  /**
   * @internal Refuses a mutating call on a read-only connection, with libvirt's message
   * naming the public function (virCheckReadOnlyGoto), and on a driver that can only read.
   */
  denyIfReadOnly(functionName: string): void {
    if (this.#readOnly) {
      throw virError(VirErrorCode.OPERATION_DENIED, VirErrorDomain.DOMAIN, `read only access prevents ${functionName}`);
    }
    // A driver whose state cannot be written (a read-only state directory) reads only.
    const refusal = this.driver.writeRefusal?.();
    if (refusal) throw refusal;
  }

  /** @internal Refuses secrets (the SECURE flag) on a read-only connection, as libvirt does. */
  denySecureIfReadOnly(flags: number, secureBit: number, functionName: string): void {
    if (this.#readOnly && (flags & secureBit) !== 0) {
      throw virError(VirErrorCode.OPERATION_DENIED, VirErrorDomain.DOMAIN, `${functionName} with secure flag`);
    }
  }

  /** The URI this connection was opened with (virConnectGetURI). */
  getURI(): string { return this.driverFor('virConnectGetURI').identity().uri; }
  /** The hypervisor type: "TEST" or "QEMU" (virConnectGetType). */
  getType(): string { return this.driverFor('virConnectGetType').identity().type; }
  /** The hypervisor's version as major*1,000,000 + minor*1,000 + micro (virConnectGetVersion). */
  getVersion(): number { return this.driverFor('virConnectGetVersion').identity().hypervisorVersion; }
  /** The library's version, in the same encoding (virConnectGetLibVersion). */
  getLibVersion(): number { this.driverFor('virConnectGetLibVersion'); return LIBVIRT_API_VERSION; }
  /** The host name of the hypervisor's host (virConnectGetHostname). */
  getHostname(): string { return this.driverFor('virConnectGetHostname').identity().hostname; }

  /**
   * The domains matching `flags` (virConnectListAllDomains; 0: all). Filters of one group
   * (ACTIVE/INACTIVE, PERSISTENT/TRANSIENT, …) combine as "either".
   */
  async listAllDomains(flags: ListDomainsFlags | UntypedFlags = 0): Promise<Domain[]> {
    return (await this.driverFor('virConnectListAllDomains').listAllDomains(flags)).map((ref) => this.#wrap(ref));
  }
  /** Looks a domain up by name (virDomainLookupByName); VIR_ERR_NO_DOMAIN if there is none. */
  async domainLookupByName(name: string): Promise<Domain> {
    return this.#wrap(await this.driverFor('virDomainLookupByName', VirErrorDomain.DOMAIN).domainLookupByName(name));
  }
  /** Looks a domain up by UUID string (virDomainLookupByUUIDString); VIR_ERR_NO_DOMAIN if there is none. */
  async domainLookupByUUIDString(uuid: string): Promise<Domain> {
    return this.#wrap(await this.driverFor('virDomainLookupByUUIDString', VirErrorDomain.DOMAIN).domainLookupByUUID(uuid));
  }
  /** Looks a running domain up by id (virDomainLookupByID); VIR_ERR_NO_DOMAIN if there is none. */
  async domainLookupByID(id: number): Promise<Domain> {
    return this.#wrap(await this.driverFor('virDomainLookupByID', VirErrorDomain.DOMAIN).domainLookupByID(id));
  }
  /**
   * Defines (or redefines) a persistent domain from `<domain>` XML, without starting it
   * (virDomainDefineXMLFlags; `flags` is virDomainDefineFlags, only 0 is supported).
   * Throws VIR_ERR_XML_ERROR / VIR_ERR_XML_DETAIL for XML libvirt would refuse, and
   * VIR_ERR_OPERATION_DENIED on a read-only connection.
   */
  async domainDefineXML(xml: string, flags = 0): Promise<Domain> {
    const functionName = flags ? 'virDomainDefineXMLFlags' : 'virDomainDefineXML';
    const driver = this.driverFor(functionName, VirErrorDomain.DOMAIN);
    this.denyIfReadOnly(functionName);
    return this.#wrap(await driver.domainDefineXML(xml, flags));
  }
  /**
   * Creates and starts a transient domain from `<domain>` XML (virDomainCreateXML;
   * `flags` is virDomainCreateFlags). Throws VIR_ERR_OPERATION_DENIED on a read-only
   * connection.
   */
  async domainCreateXML(xml: string, flags = 0): Promise<Domain> {
    const driver = this.driverFor('virDomainCreateXML', VirErrorDomain.DOMAIN);
    this.denyIfReadOnly('virDomainCreateXML');
    return this.#wrap(await driver.domainCreateXML(xml, flags));
  }
  /**
   * Registers `callback` for the lifecycle events (defined, undefined, started, suspended,
   * resumed, stopped, …) of `dom`, or of every domain when `dom` is null
   * (virConnectDomainEventRegisterAny with DomainEventID.LIFECYCLE); resolves with the
   * callback ID domainEventDeregisterAny takes. A remote connection delivers what its
   * daemon sends (snapvirtd: the changes made through it, and on qemu:/// those it finds
   * other processes made); a local one finds them itself (local-lifecycle-events.ts): its
   * own changes at once, on qemu:/// those of other processes and guests within a second.
   * While a registration lasts, the connection keeps Node running; deregister or close()
   * to let it exit.
   */
  async domainEventRegisterAny(dom: Domain | null, eventID: DomainEventID, callback: DomainLifecycleCallback): Promise<number> {
    const driver = this.driverFor('virConnectDomainEventRegisterAny');
    if (eventID !== DomainEventID.LIFECYCLE) {
      throw virError(VirErrorCode.ARGUMENT_UNSUPPORTED, VirErrorDomain.NONE, `event ID ${String(eventID)} is not delivered by snapvirt (only VIR_DOMAIN_EVENT_ID_LIFECYCLE)`);
    }
    const listener = (ref: DomainRef, event: number, detail: number): void => callback(this.#wrap(ref), event as DomainEventType, detail);
    if (driver.domainEventRegister) return driver.domainEventRegister(dom?.handle ?? null, listener);
    if (!this.#localEvents) {
      this.#localEvents = new LocalLifecycleEvents(this);
      this.#observed = observeLifecycleChanges(this.#driver, this.#localEvents);
    }
    return this.#localEvents.register(dom?.handle ?? null, listener);
  }
  /** Ends the registration `callbackID` returned (virConnectDomainEventDeregisterAny); VIR_ERR_INVALID_ARG for an unknown ID. */
  async domainEventDeregisterAny(callbackID: number): Promise<void> {
    const driver = this.driverFor('virConnectDomainEventDeregisterAny');
    if (driver.domainEventDeregister) await driver.domainEventDeregister(callbackID);
    else if (this.#localEvents) this.#localEvents.deregister(callbackID);
    else throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.NONE, `unable to find callback ID ${callbackID}`);
  }
  // ---- Group snapshots: snapvirt's own, beside libvirt's API (api/group-snapshot.ts) ----

  /**
   * Creates one snapshot of several domains of this connection, all or nothing across
   * them (snapvirt's own; ATOMIC is implied). `xml` is a `<groupsnapshot>` with a name and
   * optionally a description; each member gets an ordinary snapshot of that name. Flags:
   * DISK_ONLY, QUIESCE (with DISK_ONLY), ATOMIC.
   */
  async groupSnapshotCreateXML(domains: readonly Domain[], xml: string, flags: SnapshotCreateFlags | UntypedFlags = 0): Promise<GroupSnapshot> {
    return groupSnapshotCreateXML(this, domains, xml, flags);
  }
  /** The group snapshot `name`; VIR_ERR_NO_DOMAIN_SNAPSHOT when there is none (snapvirt's own). */
  async groupSnapshotLookupByName(name: string): Promise<GroupSnapshot> {
    return GroupSnapshot.of(this, await groupDriverOf(this, 'virGroupSnapshotLookupByName').lookup(name));
  }
  /** Every group snapshot, oldest first (snapvirt's own). */
  async listAllGroupSnapshots(): Promise<GroupSnapshot[]> {
    return (await groupDriverOf(this, 'virConnectListAllGroupSnapshots').listNames()).map((n) => GroupSnapshot.of(this, n));
  }
  /**
   * Closes the connection (virConnectClose); for the test driver this discards its
   * in-memory state. Closing a closed connection does nothing (as a Node stream's close
   * does), so close() and `await using` go together.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#localEvents?.stop();
    this.#snapshotFeed.close();
    this.removeAllListeners('snapshot');
    await this.#driver.close();
  }
  /** Closes the connection, as close() does: `await using conn = await connect(uri)`. */
  async [Symbol.asyncDispose](): Promise<void> { await this.close(); }

  #wrap(ref: DomainRef): Domain { return Domain.of(this, ref); }
}

/** Options of connect(). */
export interface ConnectOptions {
  /** Open read-only (virConnectOpenReadOnly, `virsh -r`): every mutating call is refused. */
  readOnly?: boolean;
  /**
   * Beyond libvirt: connections opened with one pool share one open state store per state
   * directory (qemu:/// URIs), as snapvirtd's clients do, so opening one opens no database.
   * For a process that opens many short connections; close() the pool once they are done.
   */
  storePool?: StorePool;
}

/**
 * Opens a connection (virConnectOpen, or virConnectOpenReadOnly with `readOnly`). Without
 * `uri`: SNAPVIRT_DEFAULT_URI, then LIBVIRT_DEFAULT_URI, then qemu:///system for root and
 * qemu:///session otherwise. Throws VIR_ERR_NO_CONNECT for a URI no driver serves.
 */
export async function connect(uri?: string, options: ConnectOptions = {}): Promise<Connection> {
  const rawUri = uri ?? defaultURI();
  const { factory, url } = await driverFactoryFor(rawUri);
  const readOnly = options.readOnly ?? false;
  return Connection.over(await factory(url, rawUri, { readOnly, storePool: options.storePool }), readOnly);
}
