/**
 * The public entry point: connect(uri) opens a Connection to a driver; domains and
 * snapshots are reached through it, as with virConnectOpen in libvirt.
 */
import type { DomainRef, HypervisorDriver } from '../drivers/driver.js';
import { Domain } from './domain.js';
import { virError, VirErrorCode, VirErrorDomain } from './errors.js';
import { LIBVIRT_API_VERSION } from './lib-version.js';
import { defaultURI, driverFactoryFor } from './uri.js';

export { LIBVIRT_API_VERSION };

/** An open connection to one hypervisor driver (virConnectPtr). */
export class Connection {
  /** @internal */
  constructor(readonly driver: HypervisorDriver, private readonly readOnly = false) {}

  /** Whether the connection was opened read-only (virConnectOpenReadOnly). */
  isReadOnly(): boolean { return this.readOnly; }

  /**
   * @internal Refuses a mutating call on a read-only connection, with libvirt's message
   * naming the public function (virCheckReadOnlyGoto).
   */
  denyIfReadOnly(functionName: string): void {
    if (this.readOnly) {
      throw virError(VirErrorCode.OPERATION_DENIED, VirErrorDomain.DOMAIN, `read only access prevents ${functionName}`);
    }
  }

  /** @internal Refuses secrets (the SECURE flag) on a read-only connection, as libvirt does. */
  denySecureIfReadOnly(flags: number, secureBit: number, functionName: string): void {
    if (this.readOnly && (flags & secureBit) !== 0) {
      throw virError(VirErrorCode.OPERATION_DENIED, VirErrorDomain.DOMAIN, `${functionName} with secure flag`);
    }
  }

  /** The URI this connection was opened with (virConnectGetURI). */
  getURI(): string { return this.driver.identity().uri; }
  /** The hypervisor type: "TEST" or "QEMU" (virConnectGetType). */
  getType(): string { return this.driver.identity().type; }
  /** The hypervisor's version as major*1,000,000 + minor*1,000 + micro (virConnectGetVersion). */
  getVersion(): number { return this.driver.identity().hypervisorVersion; }
  /** The library's version, in the same encoding (virConnectGetLibVersion). */
  getLibVersion(): number { return LIBVIRT_API_VERSION; }
  /** The host name of the hypervisor's host (virConnectGetHostname). */
  getHostname(): string { return this.driver.identity().hostname; }

  /** Lists domains matching VIR_CONNECT_LIST_DOMAINS_* `flags` (0: all). */
  async listAllDomains(flags = 0): Promise<Domain[]> {
    return (await this.driver.listAllDomains(flags)).map((ref) => this.wrap(ref));
  }
  /** Looks a domain up by name; VIR_ERR_NO_DOMAIN if there is none. */
  async domainLookupByName(name: string): Promise<Domain> {
    return this.wrap(await this.driver.domainLookupByName(name));
  }
  /** Looks a domain up by UUID string; VIR_ERR_NO_DOMAIN if there is none. */
  async domainLookupByUUIDString(uuid: string): Promise<Domain> {
    return this.wrap(await this.driver.domainLookupByUUID(uuid));
  }
  /** Looks a running domain up by id; VIR_ERR_NO_DOMAIN if there is none. */
  async domainLookupByID(id: number): Promise<Domain> {
    return this.wrap(await this.driver.domainLookupByID(id));
  }
  /** Defines (or redefines) a persistent domain from `<domain>` XML, without starting it. */
  async domainDefineXML(xml: string, flags = 0): Promise<Domain> {
    this.denyIfReadOnly(flags ? 'virDomainDefineXMLFlags' : 'virDomainDefineXML');
    return this.wrap(await this.driver.domainDefineXML(xml, flags));
  }
  /** Creates and starts a transient domain from `<domain>` XML. */
  async domainCreateXML(xml: string, flags = 0): Promise<Domain> {
    this.denyIfReadOnly('virDomainCreateXML');
    return this.wrap(await this.driver.domainCreateXML(xml, flags));
  }
  /** Closes the connection; for the test driver this discards its in-memory state. */
  async close(): Promise<void> { await this.driver.close(); }

  private wrap(ref: DomainRef): Domain { return new Domain(this, ref); }
}

/** Options of connect(). */
export interface ConnectOptions {
  /** Open read-only (virConnectOpenReadOnly, `virsh -r`): every mutating call is refused. */
  readOnly?: boolean;
}

/**
 * Opens a connection (virConnectOpen). Without `uri`: SNAPVIRT_DEFAULT_URI, then
 * LIBVIRT_DEFAULT_URI, then qemu:///system for root and qemu:///session otherwise.
 * Throws VIR_ERR_NO_CONNECT for a URI no driver serves.
 */
export async function connect(uri?: string, options: ConnectOptions = {}): Promise<Connection> {
  const rawUri = uri ?? defaultURI();
  const { factory, url } = await driverFactoryFor(rawUri);
  return new Connection(await factory(url, rawUri), options.readOnly ?? false);
}
