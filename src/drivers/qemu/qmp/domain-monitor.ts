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

/** Monitors held by a group switch (holdMonitors): other users in this process wait until it ends. */
const held = new Map<string, Promise<void>>();

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
  // Checked right before `fn` sends: what passed here was sent before a hold began.
  for (let gate = held.get(runtimeDir); gate; gate = held.get(runtimeDir)) await gate;
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

/** Runs `fn` with a monitor connection to each QEMU of `dirs` (in order). */
export async function withMonitors<T>(dirs: readonly string[], fn: (qmps: QmpClient[]) => Promise<T>): Promise<T> {
  const open = async (i: number, held: QmpClient[]): Promise<T> =>
    (i === dirs.length ? fn(held) : withMonitor(dirs[i]!, (qmp) => open(i + 1, [...held, qmp])));
  return open(0, []);
}

/**
 * Runs `fn` (which must use monitor connections it already has, never withMonitor) while
 * no other user in this process may send a command to the QEMUs of `runtimeDirs`: a group
 * snapshot's switch, so that a command sent to one member after the first member switched
 * cannot reach another member before that one switches (other processes already wait: a
 * QEMU serves one QMP client at a time, and the group holds each connection).
 */
export async function holdMonitors<T>(runtimeDirs: readonly string[], fn: () => Promise<T>): Promise<T> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  for (const dir of runtimeDirs) held.set(dir, gate);
  try {
    return await fn();
  } finally {
    for (const dir of runtimeDirs) if (held.get(dir) === gate) held.delete(dir);
    release();
  }
}

/** Drops this process's connection to `runtimeDir` at once (its QEMU is being killed). */
export function forgetMonitor(runtimeDir: string): void {
  const shared = open.get(runtimeDir);
  if (!shared) return;
  open.delete(runtimeDir);
  shared.qmp.destroy('domain stopped');
}
