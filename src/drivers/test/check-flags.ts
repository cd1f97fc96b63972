/** virCheckFlags as libvirt's test driver raises it, shared by every test-driver entry point. */
import { VirError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';

/** virCheckFlags' error, as the test driver raises it (no "invalid argument" prefix). */
export function checkFlags(flags: number, allowed: number, fn: string): void {
  const unknown = flags & ~allowed;
  if (unknown !== 0) {
    throw new VirError(VirErrorCode.INVALID_ARG, VirErrorDomain.TEST,
      `unsupported flags (0x${unknown.toString(16)}) in function ${fn}`);
  }
}
