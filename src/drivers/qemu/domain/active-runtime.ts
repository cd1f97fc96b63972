/**
 * What the store keeps about a running domain (the `runtime` column, JSON): the QEMU's
 * runtime directory (pidfile, QMP socket, log), the domain id, and the state reason we
 * last set, since QMP's query-status says "paused" but not why. Null when shut off.
 */
import { basename, join } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { Store } from '../../../store/index.js';

/** The runtime record of one running domain. */
export interface DomainRuntime {
  /** Directory with qmp.sock, qemu.pid and qemu.log (0700). */
  runtimeDir: string;
  /** The domain id (virDomainGetID), unique among running domains. */
  id: number;
  /** QEMU's pid when started (liveness is checked against the pidfile and command line). */
  pid: number;
  /** The state we last put the domain in, and libvirt's reason for it. */
  state: 'running' | 'paused';
  reason: number;
  /** When the process was started (ISO time), for diagnosis. */
  startedAt: string;
  /**
   * Created with VIR_DOMAIN_START_AUTODESTROY: the process whose connection owns the
   * domain. It is destroyed when that connection closes, or once this process is gone.
   */
  autodestroyOwner?: { pid: number; bootId: string };
  /**
   * An ACPI reboot was asked for (virDomainReboot): when the guest powers off, the next
   * call that sees it resets and resumes it instead of stopping it (libvirt's fake reboot).
   */
  fakeReboot?: boolean;
}

/** The runtime directory of a domain: `<stateDir>/run/<uuid>`. */
export function runtimeDirFor(stateDir: string, uuid: string): string {
  return join(stateDir, 'run', uuid);
}

/** The second runtime directory of a domain, `<stateDir>/run/<uuid>.b`: a revert's new QEMU while the old one still runs in the first. */
export function alternateRuntimeDir(runtimeDir: string): string {
  return `${runtimeDir}.b`;
}

/** The UUID of the domain whose runtime directory (either of the two above) is `runtimeDir`. */
export function domainOfRuntimeDir(runtimeDir: string): string {
  return basename(runtimeDir).replace(/\.b$/, '');
}

/** Parses a stored runtime column; null for a shut-off domain. */
export function parseRuntime(text: string | null): DomainRuntime | null {
  if (text === null) return null;
  const v: unknown = JSON.parse(text);
  if (typeof v !== 'object' || v === null) throw corrupt(text);
  const o = v as Record<string, unknown>;
  if (typeof o.runtimeDir !== 'string' || typeof o.id !== 'number' || typeof o.pid !== 'number'
    || (o.state !== 'running' && o.state !== 'paused') || typeof o.reason !== 'number') throw corrupt(text);
  const owner = o.autodestroyOwner as Record<string, unknown> | undefined;
  return {
    runtimeDir: o.runtimeDir, id: o.id, pid: o.pid, state: o.state, reason: o.reason,
    startedAt: typeof o.startedAt === 'string' ? o.startedAt : '',
    ...(typeof owner === 'object' && owner !== null && typeof owner.pid === 'number' && typeof owner.bootId === 'string'
      ? { autodestroyOwner: { pid: owner.pid, bootId: owner.bootId } } : {}),
    ...(o.fakeReboot === true ? { fakeReboot: true } : {}),
  };
}

/** The JSON text stored for `rt`. */
export function formatRuntime(rt: DomainRuntime): string {
  return JSON.stringify(rt);
}

/** The runtime record of domain `uuid`, or null when it is recorded as shut off. */
export function runtimeOf(store: Store, uuid: string): DomainRuntime | null {
  return parseRuntime(store.domains.get(uuid)?.runtime ?? null);
}

/**
 * The id for a domain starting now: one more than the highest id of a running domain.
 * (libvirtd counts up for its lifetime; with no daemon, this keeps ids small and unique.)
 */
export function nextDomainId(store: Store): number {
  let max = 0;
  for (const rec of store.domains.list()) {
    const rt = parseRuntime(rec.runtime);
    if (rt && rt.id > max) max = rt.id;
  }
  return max + 1;
}

function corrupt(text: string): Error {
  return virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `malformed runtime record: ${text.slice(0, 200)}`);
}
