/**
 * Name rules for snapshots and domains that live on real disks. Beyond libvirt's own
 * rules: names become parts of file names, qcow2 tags and terminal output, so control
 * characters and over-long names are refused before anything is touched.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';

/** Longest name snapvirt accepts, in UTF-8 bytes: a name becomes part of file names and qcow2 tags. */
export const MAX_NAME_BYTES = 255;

/** Why `name` cannot name a snapshot or a domain on real disks, or undefined when it can. */
export function unsafeNameReason(name: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(name)) return "name can't contain control characters";
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `name can't be longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

/** The qemu driver's domain-name rules: no '/', not '.' or '..', nothing unsafe. */
export function checkDomainName(name: string, errDomain: VirErrorDomain = VirErrorDomain.QEMU): void {
  const reason = unsafeNameReason(name)
    ?? (name.includes('/') ? "name can't contain '/'" : undefined)
    ?? (name === '.' || name === '..' ? `name can't be '${name}'` : undefined);
  if (reason) throw virError(VirErrorCode.XML_ERROR, errDomain, `invalid domain name: ${reason}`);
}
