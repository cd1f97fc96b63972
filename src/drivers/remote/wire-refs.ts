/** Domain handles ⇄ their wire form (remote_nonnull_domain: name, 16 UUID bytes, id). */
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import { parseUuid } from '../../conf/uuid.js';
import type { RemoteNonnullDomain } from '../../rpc/generated/remote-protocol.js';
import type { DomainRef } from '../driver.js';

/** The 16 bytes of a UUID string; libvirt's client refuses a string that is not one before any call. */
export function uuidBytes(uuid: string): Buffer {
  const canonical = parseUuid(uuid);
  if (canonical === undefined) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOM, 'Invalid UUID');
  return Buffer.from(canonical.replace(/-/g, ''), 'hex');
}

export function wireDomain(ref: DomainRef): RemoteNonnullDomain {
  return { name: ref.name, uuid: uuidBytes(ref.uuid), id: ref.id };
}

export function domainRef(wire: RemoteNonnullDomain): DomainRef {
  // 32 hex digits always parse; the fallback keeps the type honest.
  const hex = wire.uuid.toString('hex');
  return { name: wire.name, uuid: parseUuid(hex) ?? hex, id: wire.id };
}

/** A `char x<N>` field as libvirt sends it (bytes up to a NUL) as a string. */
export function cString(bytes: readonly number[]): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end < 0 ? bytes : bytes.slice(0, end)).toString('utf8');
}
