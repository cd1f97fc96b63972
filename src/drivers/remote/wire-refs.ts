/** Domain handles ⇄ their wire form (remote_nonnull_domain: name, 16 UUID bytes, id). */
import type { RemoteNonnullDomain } from '../../rpc/generated/remote-protocol.js';
import { uuidBytes, uuidString } from '../../rpc/wire-uuid.js';
import type { DomainRef } from '../driver.js';

export function wireDomain(ref: DomainRef): RemoteNonnullDomain {
  return { name: ref.name, uuid: uuidBytes(ref.uuid), id: ref.id };
}

export function domainRef(wire: RemoteNonnullDomain): DomainRef {
  return { name: wire.name, uuid: uuidString(wire.uuid), id: wire.id };
}

/** A `char x<N>` field as libvirt sends it (bytes up to a NUL) as a string. */
export function cString(bytes: readonly number[]): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end < 0 ? bytes : bytes.slice(0, end)).toString('utf8');
}
