/**
 * The flag checks libvirt's public API makes before it dispatches to a driver
 * (src/libvirt-domain-snapshot.c: VIR_REQUIRE_FLAG_GOTO, VIR_EXCLUSIVE_FLAGS_GOTO).
 * libvirt reports these with virReportInvalidArg, so the message has no "invalid argument:" prefix.
 */
import { VirError, VirErrorCode, VirErrorDomain } from './errors.js';

/** Throws libvirt's INVALID_ARG error when `flags` has `a` but not `required`. */
export function requireFlag(flags: number, a: number, aName: string, required: number, requiredName: string): void {
  if ((flags & a) !== 0 && (flags & required) === 0) {
    throw new VirError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT,
      `Flag '${requiredName}' is required by flag '${aName}'`);
  }
}

/** Throws libvirt's INVALID_ARG error when `flags` has both `a` and `b`. */
export function exclusiveFlags(flags: number, a: number, aName: string, b: number, bName: string): void {
  if ((flags & a) !== 0 && (flags & b) !== 0) {
    throw new VirError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN_SNAPSHOT,
      `Flags '${aName}' and '${bName}' are mutually exclusive`);
  }
}
