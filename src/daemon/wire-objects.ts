/**
 * Domain and snapshot handles ⇄ their wire form. A handle arriving in a call is rebuilt
 * from its name, UUID and id without a lookup, as libvirtd's get_nonnull_domain does, so
 * a missing domain or snapshot is reported by the driver call itself, with its message.
 */
import type { Connection } from '../api/connection.js';
import { Domain } from '../api/domain.js';
import { DomainSnapshot } from '../api/domain-snapshot.js';
import type { RemoteNonnullDomain, RemoteNonnullDomainSnapshot } from '../rpc/generated/remote-protocol.js';
import { uuidBytes, uuidString } from '../rpc/wire-uuid.js';

export function wireDomain(dom: Domain): RemoteNonnullDomain {
  return { name: dom.getName(), uuid: uuidBytes(dom.getUUIDString()), id: dom.getID() };
}

export function domainOf(conn: Connection, wire: RemoteNonnullDomain): Domain {
  return Domain.of(conn, { name: wire.name, uuid: uuidString(wire.uuid), id: wire.id });
}

export function wireSnapshot(snap: DomainSnapshot): RemoteNonnullDomainSnapshot {
  return { name: snap.getName(), dom: wireDomain(snap.getDomain()) };
}

export function snapshotOf(conn: Connection, wire: RemoteNonnullDomainSnapshot): DomainSnapshot {
  return DomainSnapshot.of(domainOf(conn, wire.dom), wire.name);
}
