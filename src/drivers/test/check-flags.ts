/** virCheckFlags as libvirt's test driver raises it, shared by every test-driver entry point. */
import { VirError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import { unsupportedFlagsDetail } from '../flag-rule.js';

/** virCheckFlags' error, as the test driver raises it (no "invalid argument" prefix). */
export function checkFlags(flags: number, allowed: number, fn: string): void {
  const detail = unsupportedFlagsDetail(flags, { fn, allowed });
  if (detail !== undefined) throw new VirError(VirErrorCode.INVALID_ARG, VirErrorDomain.TEST, detail);
}
