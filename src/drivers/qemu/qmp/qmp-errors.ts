/**
 * Errors raised by the QMP client. QEMU's own errors keep QEMU's `class` and `desc`;
 * logic may branch on `class` (a stable QAPI enum) but never on `desc`, whose wording
 * changes between QEMU versions. Local failures (timeout, lost connection, protocol)
 * have their own classes so callers can tell "QEMU said no" from "we do not know".
 */
import { virError, VirError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';

/** QEMU answered a command with `{"error":{"class","desc"}}`. */
export class QmpError extends Error {
  override readonly name = 'QmpError';
  /** QEMU's error class: GenericError, CommandNotFound, DeviceNotFound… */
  readonly class: string;

  constructor(
    /** The command that failed. */
    readonly command: string,
    errorClass: string,
    /** QEMU's human-readable text; for messages only, never for decisions. */
    readonly desc: string,
  ) {
    super(`QEMU command '${command}' failed: ${desc}`);
    this.class = errorClass;
  }
}

/** No reply came within the command's timeout; whether QEMU ran the command is unknown. */
export class QmpTimeoutError extends Error {
  override readonly name = 'QmpTimeoutError';
  constructor(readonly command: string, readonly timeoutMs: number) {
    super(`no reply from QEMU to '${command}' within ${timeoutMs} ms`);
  }
}

/** The monitor connection closed (QEMU exited or was killed, or we closed it) before a reply. */
export class QmpDisconnectedError extends Error {
  override readonly name = 'QmpDisconnectedError';
  constructor(readonly command: string | undefined, readonly reason: string) {
    super(command === undefined ? `QEMU monitor connection closed: ${reason}`
      : `QEMU monitor connection closed while waiting for '${command}': ${reason}`);
  }
}

/** QEMU sent something that is not valid QMP (bad JSON, no greeting…). */
export class QmpProtocolError extends Error {
  override readonly name = 'QmpProtocolError';
}

/** A QMP job (blockdev-create, snapshot-save…) concluded with an error in query-jobs. */
export class QmpJobError extends Error {
  override readonly name = 'QmpJobError';
  constructor(readonly jobId: string, readonly jobType: string, readonly desc: string) {
    super(`QEMU job '${jobId}' (${jobType}) failed: ${desc}`);
  }
}

/**
 * Maps any QMP client error to the VirError libvirt would report: libvirt words a failed
 * monitor command as "internal error: unable to execute QEMU command 'X': desc".
 */
export function qmpErrorToVirError(err: unknown): VirError {
  if (err instanceof VirError) return err;
  if (err instanceof QmpError) {
    return virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU,
      `unable to execute QEMU command '${err.command}': ${err.desc}`);
  }
  if (err instanceof QmpTimeoutError) {
    return virError(VirErrorCode.OPERATION_TIMEOUT, VirErrorDomain.QEMU,
      `QEMU did not answer '${err.command}' within ${err.timeoutMs} ms`);
  }
  if (err instanceof QmpDisconnectedError) {
    return virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, 'domain is not running');
  }
  if (err instanceof QmpJobError) {
    return virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, `job '${err.jobId}' failed: ${err.desc}`);
  }
  const text = err instanceof Error ? err.message : String(err);
  return virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, text);
}
