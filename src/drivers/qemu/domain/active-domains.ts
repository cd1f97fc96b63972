/**
 * Running QEMU domains: start, destroy, shutdown, suspend, resume, state and monitor
 * passthrough. A started QEMU outlives the command that started it (detached, pidfile
 * and QMP socket in `<stateDir>/run/<uuid>/`, 0700/0600); the store records it in the
 * domain's `runtime` column with the live definition. Every later call reconnects to the
 * monitor for the time of the call. A QEMU that died is noticed on the next call and the
 * domain marked shut off ("crashed"); a guest that powered off (QEMU runs with
 * -no-shutdown, so it stays in status 'shutdown') is stopped and marked "shutdown".
 * A transient domain exists only while it runs: stopped, it is forgotten
 * (forgetStoppedTransient), as libvirt removes it.
 */
import { prepareNvramFile } from '../firmware/nvram-file.js';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { DomainState, PausedReason, RunningReason, ShutoffReason } from '../../../api/flags.js';
import { formatDomainXML, parseDomainXML } from '../../../conf/domain-xml.js';
import { withRuntimeDetails } from './live-runtime-details.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import { isHolderDead, lockDomain, readLockHolder, type TxnContext } from '../../../txn/index.js';
import type { DomainInfo, DomainRef, DomainStateInfo } from '../../driver.js';
import { QemuProcess, isQemuRunningIn, terminateQemuIn } from './qemu-process.js';
import { tpmStateDirFor } from '../tpm/swtpm-process.js';
import { QmpError, QmpTimeoutError } from '../qmp/qmp-errors.js';
import { isJsonObject, optionalString, type JsonObject } from '../qmp/qmp-json.js';
import { domainNotRunning, forgetMonitor, withMonitor } from '../qmp/domain-monitor.js';
import {
  formatRuntime, nextDomainId, parseRuntime, runtimeDirFor, runtimeOf, type DomainRuntime,
} from './active-runtime.js';
import { domainRecordXml, loadDomain, loadDomainRecord, type LoadedDomain } from '../catalog/snapshot-catalog.js';
import {
  forgetOfflineDomainState, forgetShutoffReasonOf, updateOfflineDomainState,
} from '../catalog/domain-state.js';
import { checkQemuFlags } from '../qemu-flags.js';
import { finishFakeReboot } from './domain-reboot.js';
import { residentRunStatus } from './run-status-source.js';

/** VIR_DOMAIN_START_PAUSED */
const START_PAUSED = 1;
/** VIR_DOMAIN_START_RESET_NVRAM */
const START_RESET_NVRAM = 0x20;
/** VIR_DOMAIN_DESTROY_GRACEFUL: SIGTERM only, never SIGKILL. */
const DESTROY_GRACEFUL = 1;
/** VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP */
const MONITOR_HMP = 1;

const shutoffReasons = new WeakMap<TxnContext, Map<string, number>>();

function reasonsOf(ctx: TxnContext): Map<string, number> {
  let m = shutoffReasons.get(ctx);
  if (!m) shutoffReasons.set(ctx, (m = new Map()));
  return m;
}

/** Why this connection last saw domain `uuid` stop (destroyed, crashed…), if it did. */
export function lastShutoffReason(ctx: TxnContext, uuid: string): number | undefined {
  return reasonsOf(ctx).get(uuid);
}

/** Forgets the remembered shut-off reason (another path set the state since). */
export function clearShutoffReason(ctx: TxnContext, uuid: string): void {
  reasonsOf(ctx).delete(uuid);
}

/**
 * Records domain `uuid` as shut off, unless its runtime record changed since `seen` was
 * read (a concurrent start already recorded a new QEMU).
 */
function markShutOff(ctx: TxnContext, uuid: string, seen: string | null, reason: number): void {
  ctx.store.transaction(() => {
    const rec = ctx.store.domains.get(uuid);
    if (!rec || rec.runtime !== seen) return;
    // A transient domain keeps its only definition until it is forgotten, which needs its
    // lock (a revert stops and restarts it under the lock, from that definition).
    ctx.store.domains.update(uuid, rec.persistent ? { runtime: null, liveXml: null } : { runtime: null });
  });
  reasonsOf(ctx).set(uuid, reason);
  // Persisted with the offline driver's per-domain state: domstate in the next process says why.
  updateOfflineDomainState(ctx.store, uuid, { shutoffReason: reason });
}

/**
 * Whether another live process holds domain `uuid`'s lock: its operation (a destroy that
 * has just killed the QEMU, a revert stopping the old one) records the stop and its reason
 * itself, so an onlooker that finds the QEMU gone must not call it a crash.
 */
function heldElsewhere(ctx: TxnContext, uuid: string): boolean {
  const holder = readLockHolder(ctx.lockDir, uuid);
  return holder !== undefined && holder.pid !== process.pid && !isHolderDead(holder);
}

/**
 * The runtime of domain `uuid` if its QEMU is alive; a recorded QEMU that died is marked
 * shut off (reason crashed) and null returned, unless another process's operation holds
 * the domain (it records the stop itself).
 */
export async function liveRuntime(ctx: TxnContext, uuid: string): Promise<DomainRuntime | null> {
  const text = ctx.store.domains.get(uuid)?.runtime ?? null;
  const rt = parseRuntime(text);
  if (!rt) return null;
  if (await isQemuRunningIn(rt.runtimeDir)) return rt;
  if (!heldElsewhere(ctx, uuid)) markShutOff(ctx, uuid, text, ShutoffReason.CRASHED);
  return null;
}

/** The runtime of a domain that must be running; libvirt's "domain is not running" otherwise. */
export async function requireRunning(ctx: TxnContext, dom: DomainRef): Promise<DomainRuntime> {
  loadDomainRecord(ctx.store, dom); // "no domain" first; the definition is not needed here
  const rt = await liveRuntime(ctx, dom.uuid);
  if (!rt) throw domainNotRunning();
  return rt;
}

/** True when the domain's QEMU is alive (dead ones are marked shut off on the way). */
export async function isDomainRunning(ctx: TxnContext, uuid: string): Promise<boolean> {
  return (await liveRuntime(ctx, uuid)) !== null;
}

/** The running domain with id `id` (its QEMU alive), if any. */
export async function runningDomainWithId(ctx: TxnContext, id: number): Promise<{ uuid: string; name: string } | undefined> {
  for (const rec of ctx.store.domains.list()) {
    if (parseRuntime(rec.runtime)?.id !== id) continue;
    if (await liveRuntime(ctx, rec.uuid)) return { uuid: rec.uuid, name: rec.name };
  }
  return undefined;
}

/** The running id of domain `uuid`, or -1 when it is shut off (no liveness probe: cheap). */
export function recordedDomainId(ctx: TxnContext, uuid: string): number {
  return runtimeOf(ctx.store, uuid)?.id ?? -1;
}

/** How long domstate waits for a monitor another process holds before using the recorded state. */
const STATE_QUERY_TIMEOUT_MS = 2000;

/** Records a new state and reason for a running domain (what domstate reports while the monitor is busy). */
export function updateRuntime(ctx: TxnContext, uuid: string, change: Partial<DomainRuntime>): void {
  ctx.store.transaction(() => {
    const rt = runtimeOf(ctx.store, uuid);
    if (rt) ctx.store.domains.update(uuid, { runtime: formatRuntime({ ...rt, ...change }) });
  });
}

/** Options for {@link startDomainLocked}. */
export interface StartOptions {
  paused: boolean;
  /** The running/paused reason to record (booted, from snapshot…). */
  reason?: number;
  /** Start from this definition instead of the persistent one. */
  def?: DomainDef;
  /** Start waiting for a saved memory state (-incoming defer); implies paused. */
  incoming?: boolean;
  /** Re-create the NVRAM from its template first (--reset-nvram). */
  resetNvram?: boolean;
}

/**
 * Spawns the QEMU of domain `uuid` from `def` in its runtime directory and returns the
 * runtime to record; the caller holds the domain lock and records it. The monitor
 * connection is closed before returning: the process lives on alone.
 */
export async function launchQemu(ctx: TxnContext, uuid: string, def: DomainDef, opts: StartOptions): Promise<DomainRuntime> {
  const runtimeDir = runtimeDirFor(ctx.store.stateDir, uuid);
  // Under the lock, a QEMU in our runtime dir that the store does not know is the orphan
  // of a start that was killed before it recorded the process: it must not run twice.
  if (await isQemuRunningIn(runtimeDir)) await terminateQemuIn(runtimeDir, 0);
  await mkdir(dirname(runtimeDir), { recursive: true, mode: 0o700 });
  const proc = await QemuProcess.start({
    def, runtimeDir, paused: opts.paused || opts.incoming === true, incoming: opts.incoming, tpmStateDir: tpmStateDirFor(ctx.store.stateDir, uuid),
  });
  await proc.qmp.close().catch(() => undefined);
  return {
    runtimeDir,
    id: nextDomainId(ctx.store),
    pid: proc.pid,
    state: opts.paused ? 'paused' : 'running',
    reason: opts.reason ?? (opts.paused ? PausedReason.USER : RunningReason.BOOTED),
    startedAt: new Date().toISOString(),
  };
}

/** Drops the shut-off reason kept for domain `uuid` (in this connection and in the state dir): it runs again. */
export function forgetShutoffReason(ctx: TxnContext, uuid: string): void {
  clearShutoffReason(ctx, uuid);
  forgetShutoffReasonOf(ctx.store, uuid);
}

/**
 * Starts the domain's QEMU from its definition (persistent, or a transient domain's own);
 * the caller holds the domain lock.
 */
export async function startDomainLocked(ctx: TxnContext, dom: DomainRef, opts: StartOptions): Promise<DomainRuntime> {
  const { store } = ctx;
  const { record, def: persistent } = loadDomain(store, dom);
  if (await liveRuntime(ctx, record.uuid)) {
    throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, 'domain is already running');
  }
  const def = opts.def ?? persistent;
  if (opts.resetNvram) prepareNvramFile(def, true);
  const rt = await launchQemu(ctx, record.uuid, def, opts);
  const { runtimeDir } = rt;
  try {
    store.transaction(() => store.domains.update(record.uuid, { runtime: formatRuntime(rt), liveXml: domainRecordXml(def) }));
  } catch (err) {
    // Unrecorded, the process would be invisible: stop it rather than leak it.
    await terminateQemuIn(runtimeDir, 0);
    throw err;
  }
  forgetShutoffReason(ctx, record.uuid);
  return rt;
}

/** virDomainCreateWithFlags: starts a shut-off domain (flag 1: paused). */
export async function startDomain(ctx: TxnContext, dom: DomainRef, flags: number): Promise<DomainRef> {
  checkQemuFlags(flags, 'createWithFlags');
  const rt = await lockDomain(ctx, dom.uuid, 'start', () => startDomainLocked(ctx, dom, {
    paused: (flags & START_PAUSED) !== 0, resetNvram: (flags & START_RESET_NVRAM) !== 0,
  }));
  return { uuid: dom.uuid, name: dom.name, id: rt.id };
}

/** Stops the domain's QEMU (SIGTERM, then SIGKILL) and records it shut off; the caller holds the lock. */
export async function stopDomainLocked(ctx: TxnContext, dom: DomainRef, reason: number, graceMs = 5000): Promise<void> {
  const text = ctx.store.domains.get(dom.uuid)?.runtime ?? null;
  const rt = parseRuntime(text);
  if (!rt) throw domainNotRunning();
  forgetMonitor(rt.runtimeDir);
  await terminateQemuIn(rt.runtimeDir, graceMs);
  markShutOff(ctx, dom.uuid, text, reason);
}

/**
 * Forgets transient domain `uuid` if it is not running, as libvirt's
 * qemuDomainRemoveInactive: its record and snapshot metadata go; its disk images, and
 * the files its snapshots created, stay on disk (they become the user's). The caller
 * holds the lock. True when the domain was forgotten.
 */
export function forgetStoppedTransient(ctx: TxnContext, uuid: string): boolean {
  const { store } = ctx;
  const gone = store.transaction(() => {
    const rec = store.domains.get(uuid);
    if (!rec || rec.persistent || rec.runtime !== null) return false;
    store.snapshots.deleteAll(uuid);
    store.domains.delete(uuid);
    forgetOfflineDomainState(store, uuid);
    return true;
  });
  if (gone) clearShutoffReason(ctx, uuid);
  return gone;
}

/** virDomainDestroyFlags. */
export async function destroyDomain(ctx: TxnContext, dom: DomainRef, flags: number): Promise<void> {
  checkQemuFlags(flags, 'destroy');
  await lockDomain(ctx, dom.uuid, 'destroy', async () => {
    await requireRunning(ctx, dom);
    await stopDomainLocked(ctx, dom, ShutoffReason.DESTROYED, (flags & DESTROY_GRACEFUL) ? 60_000 : 5000);
    forgetStoppedTransient(ctx, dom.uuid);
  });
}

/**
 * virDomainShutdownFlags: asks the guest to power off (ACPI power button, QMP
 * system_powerdown) and returns at once, as libvirt does. Without a guest OS that
 * handles ACPI nothing happens; a guest that does power off is noticed by the next call.
 */
export async function shutdownDomain(ctx: TxnContext, dom: DomainRef, flags: number): Promise<void> {
  // Only the ACPI mode exists here; the agent, initctl, signal and paravirt modes need a guest agent.
  if (flags & ~1) {
    throw virError(VirErrorCode.ARGUMENT_UNSUPPORTED, VirErrorDomain.QEMU,
      'only the ACPI shutdown mode is supported by this driver');
  }
  const rt = await requireRunning(ctx, dom);
  await withMonitor(rt.runtimeDir, (qmp) => qmp.execute('system_powerdown'));
}

/** virDomainSuspend: stops the vCPUs (QMP stop); reason "user". */
export async function suspendDomain(ctx: TxnContext, dom: DomainRef): Promise<void> {
  await lockDomain(ctx, dom.uuid, 'suspend', async () => {
    const rt = await requireRunning(ctx, dom);
    await withMonitor(rt.runtimeDir, (qmp) => qmp.execute('stop'));
    updateRuntime(ctx, dom.uuid, { state: 'paused', reason: PausedReason.USER });
  });
}

/** virDomainResume: restarts the vCPUs (QMP cont); reason "unpaused". */
export async function resumeDomain(ctx: TxnContext, dom: DomainRef): Promise<void> {
  await lockDomain(ctx, dom.uuid, 'resume', async () => {
    const rt = await requireRunning(ctx, dom);
    await withMonitor(rt.runtimeDir, (qmp) => qmp.execute('cont'));
    updateRuntime(ctx, dom.uuid, { state: 'running', reason: RunningReason.UNPAUSED });
  });
}

/**
 * QEMU's run status asked over qmp.sock, or the state to report without it: the QEMU died
 * (marked crashed), or another process holds the monitor (the recorded state).
 */
async function queriedRunStatus(ctx: TxnContext, dom: DomainRef, rt: DomainRuntime): Promise<string | DomainStateInfo> {
  try {
    // A short wait: a busy monitor (another process's snapshot or merge) falls back to the record below.
    const reply = await withMonitor(rt.runtimeDir, (qmp) => qmp.execute('query-status'), STATE_QUERY_TIMEOUT_MS);
    return (isJsonObject(reply) ? optionalString(reply, 'status') : undefined) ?? 'unknown';
  } catch (err) {
    // QEMU died between the liveness check and the query.
    if (!await isQemuRunningIn(rt.runtimeDir)) {
      if (heldElsewhere(ctx, dom.uuid)) return { state: DomainState.SHUTOFF, reason: ShutoffReason.UNKNOWN };
      markShutOff(ctx, dom.uuid, formatRuntime(rt), ShutoffReason.CRASHED);
      return { state: DomainState.SHUTOFF, reason: ShutoffReason.CRASHED };
    }
    // QEMU serves one monitor client at a time: while another process holds it (a long
    // merge), report the state recorded with the runtime instead of failing.
    if (err instanceof QmpTimeoutError) {
      return rt.state === 'running'
        ? { state: DomainState.RUNNING, reason: rt.reason }
        : { state: DomainState.PAUSED, reason: rt.reason };
    }
    throw err;
  }
}

/** query-status of a running domain, as virDomainGetState; a powered-off guest's QEMU is stopped here. */
export async function runningDomainState(ctx: TxnContext, dom: DomainRef, rt: DomainRuntime): Promise<DomainStateInfo> {
  // snapvirtd's resident monitor on events.sock, when it holds one on this QEMU: no round trip on qmp.sock.
  const status = await residentRunStatus(ctx, rt) ?? await queriedRunStatus(ctx, dom, rt);
  if (typeof status !== 'string') return status;
  switch (status) {
    case 'running':
      return { state: DomainState.RUNNING, reason: rt.state === 'running' ? rt.reason : RunningReason.UNKNOWN };
    case 'shutdown': {
      if (rt.fakeReboot && await finishFakeReboot(ctx, dom, rt)) return { state: DomainState.RUNNING, reason: RunningReason.BOOTED };
      // The guest powered off; QEMU waits because of -no-shutdown. Finish it as libvirt does.
      await lockDomain(ctx, dom.uuid, 'shutdown', async () => {
        if (runtimeOf(ctx.store, dom.uuid)?.runtimeDir === rt.runtimeDir) await stopDomainLocked(ctx, dom, ShutoffReason.SHUTDOWN);
        forgetStoppedTransient(ctx, dom.uuid);
      });
      return { state: DomainState.SHUTOFF, reason: ShutoffReason.SHUTDOWN };
    }
    case 'guest-panicked':
      return { state: DomainState.CRASHED, reason: 1 /* VIR_DOMAIN_CRASHED_PANICKED */ };
    case 'io-error':
      return { state: DomainState.PAUSED, reason: PausedReason.IOERROR };
    case 'save-vm':
      return { state: DomainState.PAUSED, reason: PausedReason.SNAPSHOT };
    case 'postmigrate':
      // Where a memory save (a snapshot's) leaves a paused guest: no migration of the user's,
      // so the pause keeps the reason recorded with it, as libvirt keeps its own.
      return { state: DomainState.PAUSED, reason: rt.state === 'paused' ? rt.reason : PausedReason.MIGRATION };
    case 'inmigrate': case 'finish-migrate':
      return { state: DomainState.PAUSED, reason: PausedReason.MIGRATION };
    case 'watchdog':
      return { state: DomainState.PAUSED, reason: PausedReason.WATCHDOG };
    default:
      // paused, prelaunch, restore-vm, debug, internal-error…
      return { state: DomainState.PAUSED, reason: rt.state === 'paused' ? rt.reason : PausedReason.UNKNOWN };
  }
}

/** CPU time of the QEMU process (user + system), as libvirt reads it from /proc. */
async function qemuCpuTimeNs(pid: number): Promise<bigint> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the state field; clock ticks of 10 ms.
    const ticks = BigInt(fields[11] ?? '0') + BigInt(fields[12] ?? '0');
    return ticks * 10_000_000n;
  } catch {
    return 0n;
  }
}

/** virDomainGetInfo of a running domain. */
export async function runningDomainInfo(ctx: TxnContext, dom: DomainRef, rt: DomainRuntime): Promise<DomainInfo> {
  const { state } = await runningDomainState(ctx, dom, rt);
  const def = liveDef(ctx, dom);
  return {
    state, maxMemKiB: def.memoryKiB, memoryKiB: def.currentMemoryKiB, nrVirtCpu: def.vcpus,
    cpuTimeNs: state === DomainState.SHUTOFF ? 0n : await qemuCpuTimeNs(rt.pid),
  };
}

/** The live definition of a running domain (the persistent one if none was recorded). */
export function liveDef(ctx: TxnContext, dom: DomainRef): DomainDef {
  return liveDefOf(loadDomain(ctx.store, dom));
}

/** The live definition of a domain already loaded (no second parse of its persistent XML). */
export function liveDefOf({ record, def }: LoadedDomain): DomainDef {
  return record.liveXml ? parseDomainXML(record.liveXml) : def;
}

/** The live XML of a running domain, with its id and what QEMU chose (VNC port, ptys), as virDomainGetXMLDesc without INACTIVE. */
export async function runningDomainXml(ctx: TxnContext, dom: DomainRef, rt: DomainRuntime, flags: number): Promise<string> {
  return formatDomainXML(await withRuntimeDetails(liveDef(ctx, dom), rt.runtimeDir), { id: rt.id, secure: (flags & 1) !== 0 });
}

/**
 * virDomainQemuMonitorCommand: a QMP command as JSON text (the reply is returned as JSON
 * text, an error reply included, as libvirt does), or with flag 1 an HMP command line.
 */
export async function monitorCommand(ctx: TxnContext, dom: DomainRef, command: string, flags: number): Promise<string> {
  checkQemuFlags(flags, 'monitorCommand');
  const rt = await requireRunning(ctx, dom);
  if (flags & MONITOR_HMP) {
    const reply = await withMonitor(rt.runtimeDir, (qmp) => qmp.execute('human-monitor-command', { 'command-line': command }));
    return typeof reply === 'string' ? reply : JSON.stringify(reply);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(command);
  } catch {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE, `cannot parse json ${command}`);
  }
  if (!isJsonObject(parsed) || typeof parsed.execute !== 'string') {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `cannot parse QMP command ${command}`);
  }
  const execute = parsed.execute;
  const args = isJsonObject(parsed.arguments) ? parsed.arguments : undefined;
  // libvirt gives every command an id of its own (QEMU echoes it in the reply) and cannot add it to one that has one.
  if ('id' in parsed) throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, "Unable to append command 'id' string");
  const id = `snapvirt-${++passthroughIds}`;
  try {
    const value = await withMonitor(rt.runtimeDir, (qmp) => qmp.execute(execute, args));
    // QEMU's own key order, which libvirt passes on verbatim: the id after a return, before an error.
    return JSON.stringify({ return: (value ?? {}) as JsonObject, id });
  } catch (err) {
    if (!(err instanceof QmpError)) throw err;
    return JSON.stringify({ id, error: { class: err.class, desc: err.desc } });
  }
}

/** Numbers the ids given to passthrough commands that carry none (libvirt's are libvirt-N). */
let passthroughIds = 0;
