/**
 * libvirt's error model: every failure is a VirError carrying libvirt's error code, the
 * domain (subsystem) that raised it, and the message text exactly as libvirt prints it.
 */

/** libvirt's virErrorNumber values (only those snapvirt raises or matches on). */
export const VirErrorCode = {
  OK: 0,
  INTERNAL_ERROR: 1,
  NO_MEMORY: 2,
  NO_SUPPORT: 3,
  NO_CONNECT: 5,
  INVALID_CONN: 6,
  INVALID_DOMAIN: 7,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  NO_TARGET: 20,
  NO_NAME: 21,
  XML_ERROR: 27,
  DOM_EXIST: 28,
  OPERATION_DENIED: 29,
  OPEN_FAILED: 30,
  READ_FAILED: 31,
  PARSE_FAILED: 32,
  WRITE_FAILED: 34,
  XML_DETAIL: 35,
  SYSTEM_ERROR: 38,
  RPC: 39,
  NO_DOMAIN: 42,
  AUTH_FAILED: 45,
  OPERATION_INVALID: 55,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_TIMEOUT: 68,
  INVALID_DOMAIN_SNAPSHOT: 71,
  NO_DOMAIN_SNAPSHOT: 72,
  ARGUMENT_UNSUPPORTED: 74,
  SNAPSHOT_REVERT_RISKY: 77,
  OPERATION_ABORTED: 78,
  BLOCK_COPY_ACTIVE: 83,
  OPERATION_UNSUPPORTED: 84,
  AGENT_UNRESPONSIVE: 86,
  RESOURCE_BUSY: 87,
  XML_INVALID_SCHEMA: 92,
} as const;
export type VirErrorCode = (typeof VirErrorCode)[keyof typeof VirErrorCode];

/** libvirt's virErrorDomain values: which subsystem raised the error. */
export const VirErrorDomain = {
  NONE: 0,
  XML: 5,
  DOM: 6,
  RPC: 7,
  CONF: 9,
  QEMU: 10,
  TEST: 12,
  REMOTE: 13,
  STORAGE: 18,
  DOMAIN: 20,
  SECURITY: 24,
  DOMAIN_SNAPSHOT: 35,
  URI: 45,
  LOCKING: 42,
} as const;
export type VirErrorDomain = (typeof VirErrorDomain)[keyof typeof VirErrorDomain];

/**
 * The prefix libvirt's virErrorMsg() puts before the detail text, per error code
 * (src/util/virerror.c). `%s` stands for the detail; the second form is used when there
 * is no detail.
 */
const MESSAGE_FORMATS: Partial<Record<number, [withDetail: string, bare: string]>> = {
  [VirErrorCode.INTERNAL_ERROR]: ['internal error: %s', 'internal error'],
  [VirErrorCode.NO_SUPPORT]: ['this function is not supported by the connection driver: %s', 'this function is not supported by the connection driver'],
  [VirErrorCode.NO_CONNECT]: ['no connection driver available for %s', 'no connection driver available'],
  [VirErrorCode.INVALID_CONN]: ['invalid connection pointer in %s', 'invalid connection pointer in'],
  [VirErrorCode.INVALID_DOMAIN]: ['invalid domain pointer in %s', 'invalid domain pointer in'],
  [VirErrorCode.INVALID_ARG]: ['invalid argument: %s', 'invalid argument'],
  [VirErrorCode.OPERATION_FAILED]: ['operation failed: %s', 'operation failed'],
  [VirErrorCode.XML_ERROR]: ['XML error: %s', 'XML description is invalid or not well formed'],
  [VirErrorCode.DOM_EXIST]: ['operation failed: %s', 'this domain exists already'],
  [VirErrorCode.OPERATION_DENIED]: ['operation forbidden: %s', 'operation forbidden for read only access'],
  [VirErrorCode.OPEN_FAILED]: ['failed to open configuration file %s', 'failed to open configuration file'],
  [VirErrorCode.READ_FAILED]: ['failed to read configuration file %s', 'failed to read configuration file'],
  [VirErrorCode.PARSE_FAILED]: ['failed to parse configuration file %s', 'failed to parse configuration file'],
  [VirErrorCode.WRITE_FAILED]: ['failed to write configuration file: %s', 'failed to write configuration file'],
  [VirErrorCode.XML_DETAIL]: ['%s', 'parser error'],
  [VirErrorCode.SYSTEM_ERROR]: ['%s', ''],
  [VirErrorCode.RPC]: ['%s', 'RPC error'],
  [VirErrorCode.NO_DOMAIN]: ['Domain not found: %s', 'Domain not found'],
  [VirErrorCode.AUTH_FAILED]: ['authentication failed: %s', 'authentication failed'],
  [VirErrorCode.OPERATION_INVALID]: ['Requested operation is not valid: %s', 'Requested operation is not valid'],
  [VirErrorCode.CONFIG_UNSUPPORTED]: ['unsupported configuration: %s', 'unsupported configuration'],
  [VirErrorCode.OPERATION_TIMEOUT]: ['Timed out during operation: %s', 'Timed out during operation'],
  [VirErrorCode.INVALID_DOMAIN_SNAPSHOT]: ['Invalid snapshot: %s', 'Invalid snapshot'],
  [VirErrorCode.NO_DOMAIN_SNAPSHOT]: ['Domain snapshot not found: %s', 'Domain snapshot not found'],
  [VirErrorCode.ARGUMENT_UNSUPPORTED]: ['argument unsupported: %s', 'argument unsupported'],
  [VirErrorCode.SNAPSHOT_REVERT_RISKY]: ['revert requires force: %s', 'revert requires force'],
  [VirErrorCode.OPERATION_ABORTED]: ['operation aborted: %s', 'operation aborted'],
  [VirErrorCode.BLOCK_COPY_ACTIVE]: ['block copy still active: %s', 'block copy still active'],
  [VirErrorCode.OPERATION_UNSUPPORTED]: ['Operation not supported: %s', 'Operation not supported'],
  [VirErrorCode.AGENT_UNRESPONSIVE]: ['Guest agent is not responding: %s', 'Guest agent is not responding'],
  [VirErrorCode.RESOURCE_BUSY]: ['resource busy: %s', 'resource busy'],
  [VirErrorCode.XML_INVALID_SCHEMA]: ['XML document failed to validate against schema: %s', 'XML document failed to validate against schema'],
};

/** A libvirt error: `code` and `domain` use libvirt's numbers; `message` is libvirt's full text. */
export class VirError extends Error {
  /** Always "VirError". */
  override readonly name = 'VirError';
  constructor(
    /** libvirt's error number (virErrorNumber), e.g. VirErrorCode.NO_DOMAIN_SNAPSHOT (72). */
    readonly code: VirErrorCode,
    /** The libvirt subsystem that raised it (virErrorDomain), e.g. VirErrorDomain.DOMAIN_SNAPSHOT (35). */
    readonly domain: VirErrorDomain,
    message: string,
    /** The detail text without the code's prefix, as libvirt's virError.str1 would hold it. */
    readonly detail: string = message,
  ) {
    super(message);
  }
}

/** Builds a VirError whose message is formatted the way libvirt formats `code` with `detail`. */
export function virError(code: VirErrorCode, domain: VirErrorDomain, detail?: string): VirError {
  const formats = MESSAGE_FORMATS[code];
  let message: string;
  if (!formats) message = detail ?? 'unknown error';
  else if (detail === undefined || detail === '') message = formats[1];
  else message = formats[0].replace('%s', detail);
  return new VirError(code, domain, message, detail ?? '');
}

/**
 * The text libvirt keeps in an error's str1 (and sends as remote_error's str1): the code's
 * format with "%s" for the detail, its bare message without a detail, "%s" for a code
 * without a format of its own.
 */
export function virErrorFormat(code: VirErrorCode, detail: string): string {
  const formats = MESSAGE_FORMATS[code];
  if (!formats) return '%s';
  return detail === '' ? formats[1] : formats[0];
}

/** True when `err` is a VirError with the given code. */
export function isVirError(err: unknown, code?: VirErrorCode): err is VirError {
  return err instanceof VirError && (code === undefined || err.code === code);
}
