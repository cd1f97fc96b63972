/**
 * libvirt errors on the wire: a VirError becomes the remote_error a REPLY with status ERROR
 * carries, and back. code, domain and message are libvirt's numbers and text, so a client
 * (virsh, libvirt-python) prints exactly what it would print for libvirtd's error.
 */
import { VirError, virErrorFormat, type VirErrorCode, type VirErrorDomain } from '../api/errors.js';
import type { RemoteError } from './generated/remote-protocol.js';

/** virErrorLevel: VIR_ERR_ERROR. */
export const VIR_ERR_ERROR = 2;

/** The remote_error for `err`, as libvirtd fills it: str1 the format, str2 the detail, int1/int2 -1 (unused). */
export function remoteErrorOf(err: VirError): RemoteError {
  return {
    code: err.code,
    domain: err.domain,
    message: err.message,
    level: VIR_ERR_ERROR,
    dom: null,
    str1: virErrorFormat(err.code, err.detail),
    str2: err.detail === '' ? null : err.detail,
    str3: null,
    int1: -1,
    int2: -1,
    net: null,
  };
}

/** The VirError a remote_error describes (a client's view of a daemon's error). */
export function virErrorOf(remote: RemoteError): VirError {
  return new VirError(remote.code as VirErrorCode, remote.domain as VirErrorDomain, remote.message ?? 'unknown error', remote.str2 ?? '');
}
