/**
 * What the package's public types allow and refuse. Every `@ts-expect-error` line must
 * fail to compile: if it ever compiles, tsc reports the unused directive (TS2578) and
 * test/api/public-types.test.ts fails.
 */
import {
  combineFlags, connect, Connection, Domain, DomainSnapshot, DomainState, DomainUndefineFlags,
  DomainXMLFlags, domainStateName, domainStateReasonName, flagsFromNumber, ListDomainsFlags,
  ShutoffReason, SnapshotCreateFlags, SnapshotDeleteFlags, SnapshotListFlags, SnapshotRevertFlags,
  SnapshotXMLFlags, VirError, VirErrorCode,
} from 'snapvirt';
import type { DomainStateName } from 'snapvirt';

export async function allowed(): Promise<void> {
  await using conn = await connect('test:///default');
  const dom = await conn.domainLookupByName('test');
  const xml = '<domainsnapshot/>';
  await dom.snapshotCreateXML(xml);
  await dom.snapshotCreateXML(xml, 0);
  await dom.snapshotCreateXML(xml, SnapshotCreateFlags.ATOMIC);
  await dom.snapshotCreateXML(xml, SnapshotCreateFlags.ATOMIC | SnapshotCreateFlags.DISK_ONLY);
  const typed: SnapshotCreateFlags = combineFlags(SnapshotCreateFlags.ATOMIC, SnapshotCreateFlags.DISK_ONLY);
  await dom.snapshotCreateXML(xml, typed);
  await dom.snapshotCreateXML(xml, flagsFromNumber<SnapshotCreateFlags>(0x90));
  const snaps = await dom.listAllSnapshots(SnapshotListFlags.TOPOLOGICAL);
  await snaps[0]?.revert(SnapshotRevertFlags.FORCE);
  await snaps[0]?.delete(combineFlags(SnapshotDeleteFlags.CHILDREN, SnapshotDeleteFlags.METADATA_ONLY));
  await snaps[0]?.getXMLDesc(SnapshotXMLFlags.SECURE);
  await dom.getXMLDesc(DomainXMLFlags.INACTIVE);
  await dom.undefine(DomainUndefineFlags.SNAPSHOTS_METADATA);
  await conn.listAllDomains(ListDomainsFlags.ACTIVE);
  const { state, reason } = await dom.getState();
  const name: DomainStateName = domainStateName(state);
  const shutoff: boolean = state === DomainState.SHUTOFF && reason === ShutoffReason.FROM_SNAPSHOT;
  void [name, shutoff, domainStateReasonName(state, reason)];
  try { await dom.snapshotLookupByName('nope'); } catch (err) {
    if (err instanceof VirError && err.code === VirErrorCode.NO_DOMAIN_SNAPSHOT) void err.message;
  }
  const handles: [Connection, Domain, DomainSnapshot | undefined] = [conn, dom, snaps[0]];
  void handles;
}

export async function refused(conn: Connection, dom: Domain, snap: DomainSnapshot): Promise<void> {
  const xml = '<domainsnapshot/>';
  // A flag of another enum, to each call that takes flags:
  // @ts-expect-error a list flag is not a create flag
  await dom.snapshotCreateXML(xml, SnapshotListFlags.TOPOLOGICAL);
  // @ts-expect-error a create flag is not a list flag
  await dom.listAllSnapshots(SnapshotCreateFlags.DISK_ONLY);
  // @ts-expect-error a delete flag is not a revert flag
  await snap.revert(SnapshotDeleteFlags.CHILDREN);
  // @ts-expect-error a revert flag is not a delete flag
  await snap.delete(SnapshotRevertFlags.FORCE);
  // @ts-expect-error a domain XML flag is not a snapshot XML flag
  await snap.getXMLDesc(DomainXMLFlags.INACTIVE);
  // @ts-expect-error a snapshot XML flag is not a domain XML flag
  await dom.getXMLDesc(SnapshotXMLFlags.SECURE);
  // @ts-expect-error an undefine flag is not a list-domains flag
  await conn.listAllDomains(DomainUndefineFlags.NVRAM);
  // @ts-expect-error combineFlags keeps one enum: a list flag cannot join create flags
  combineFlags(SnapshotCreateFlags.ATOMIC, SnapshotListFlags.ROOTS);
  // @ts-expect-error a bare number is not a typed flag
  const typed: SnapshotCreateFlags = 0x80;
  void typed;

  // Internals are not part of the public surface:
  // @ts-expect-error the driver table is internal
  void conn.driver;
  // @ts-expect-error internal
  conn.driverFor('virConnectGetURI');
  // @ts-expect-error internal
  conn.denyIfReadOnly('virDomainDestroy');
  // @ts-expect-error connections come from connect()
  new Connection();
  // @ts-expect-error internal factory
  Connection.over;
  // @ts-expect-error the driver's domain reference is internal
  void dom.handle;
  // @ts-expect-error internal (getConnect() is public)
  void dom.connection;
  // @ts-expect-error domains come from the connection
  new Domain();
  // @ts-expect-error internal factory
  Domain.of;
  // @ts-expect-error internal (getDomain() is public)
  void snap.domain;
  // @ts-expect-error snapshots come from their domain
  new DomainSnapshot();
}

// @ts-expect-error only the package root is exported
export type Deep = typeof import('snapvirt/dist/src/api/flags.js');
