/**
 * Monitor connections to running domains. QEMU serves one QMP client at a time (a second
 * connection waits, silently, until the first closes), so every command connects, does
 * its work and closes; and while an operation holds a connection, anything else in the
 * same process that needs the monitor (an undo handler during rollback) must reuse that
 * connection instead of queueing behind it forever.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { QmpClient } from './qmp-client.js';
import { isQemuRunningIn, qemuRuntimePaths } from '../domain/qemu-process.js';

interface SharedMonitor {
  qmp: QmpClient;
  users: number;
}

const open = new Map<string, SharedMonitor>();

/** How long a command waits for the monitor (another client may hold it). */
const CONNECT_TIMEOUT_MS = 15_000;

/** The error for a domain whose QEMU is gone. */
export function domainNotRunning(): Error {
  return virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, 'domain is not running');
}

/**
 * Runs `fn` with a QMP connection to the QEMU of `runtimeDir`: the one this process has
 * open already, or a new one closed when the outermost user is done.
 */
export async function withMonitor<T>(
  runtimeDir: string, fn: (qmp: QmpClient) => Promise<T>, connectTimeoutMs = CONNECT_TIMEOUT_MS,
): Promise<T> {
  let shared = open.get(runtimeDir);
  if (!shared || shared.qmp.isClosed) {
    if (!await isQemuRunningIn(runtimeDir)) throw domainNotRunning();
    const qmp = await QmpClient.connect(qemuRuntimePaths(runtimeDir).qmpSocket, { timeoutMs: connectTimeoutMs });
    shared = { qmp, users: 0 };
    open.set(runtimeDir, shared);
  }
  shared.users++;
  try {
    return await fn(shared.qmp);
  } finally {
    shared.users--;
    if (shared.users === 0) {
      if (open.get(runtimeDir) === shared) open.delete(runtimeDir);
      await shared.qmp.close().catch(() => undefined);
    }
  }
}

/** Drops this process's connection to `runtimeDir` at once (its QEMU is being killed). */
export function forgetMonitor(runtimeDir: string): void {
  const shared = open.get(runtimeDir);
  if (!shared) return;
  open.delete(runtimeDir);
  shared.qmp.destroy('domain stopped');
}
