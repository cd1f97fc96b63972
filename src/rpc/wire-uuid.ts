/**
 * UUIDs on the wire: libvirt sends a domain's UUID as 16 raw bytes (remote_uuid), both
 * in calls and in replies. One conversion for the daemon and the remote client.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';
import { parseUuid } from '../conf/uuid.js';

/** The 16 bytes of a UUID string; a string that is not one is refused before any call, as libvirt's client does. */
export function uuidBytes(uuid: string): Buffer {
  const canonical = parseUuid(uuid);
  if (canonical === undefined) throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOM, 'Invalid UUID');
  return Buffer.from(canonical.replace(/-/g, ''), 'hex');
}

/** The canonical string of 16 UUID bytes. */
export function uuidString(bytes: Buffer): string {
  // parseUuid of 32 hex digits always succeeds; the fallback keeps the type honest.
  return parseUuid(bytes.toString('hex')) ?? bytes.toString('hex');
}
