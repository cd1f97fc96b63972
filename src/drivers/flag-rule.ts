/**
 * libvirt's virCheckFlags, worded once for every driver: an API call knows a set of flags
 * and refuses any other with "unsupported flags (0x…) in function <its C name>".
 */

/** One API call: libvirt's function name (it appears in the message) and the flags it knows. */
export interface FlagRule {
  readonly fn: string;
  readonly allowed: number;
}

/** virCheckFlags' wording for `flags` outside `rule`, or undefined when all are known. */
export function unsupportedFlagsDetail(flags: number, rule: FlagRule): string | undefined {
  const unknown = flags & ~rule.allowed;
  return unknown === 0 ? undefined : `unsupported flags (0x${unknown.toString(16)}) in function ${rule.fn}`;
}
