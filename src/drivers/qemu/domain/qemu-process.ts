/**
 * One QEMU process per running domain. It is spawned detached (own session, stdio to a
 * log file) so it outlives the command that started it; its pidfile and QMP socket live
 * in a private runtime directory (0700, files 0600) from which a later command can
 * reattach. Liveness checks guard against pid reuse by checking the command line.
 */
import { prepareNvramFile } from '../firmware/nvram-file.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, open, readFile, readdir, rm, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DomainDef } from '../../../conf/domain-types.js';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { refuseLoopingDisks, refuseUnsafeChain } from '../images/chain-inspect.js';
import { errnoText } from '../../../api/errno-text.js';
import { QmpClient } from '../qmp/qmp-client.js';
import { buildQemuCommandLine, QEMU_SYSTEM_BINARY, type CommandLineDisk } from './qemu-command-line.js';
import { chooseAccelerator, type QemuAccelerator } from './kvm-availability.js';
import { emulatorOf } from './devices/definition-coverage.js';
import { capabilitiesFor } from './qemu-capabilities.js';
import { refuseMissingBridges, setUpTaps } from './tap-setup.js';
import { startSwtpm, stopSwtpm } from '../tpm/swtpm-process.js';
import { tpmOf } from './devices/tpm.js';

/** The files of one QEMU process inside its runtime directory. */
export interface QemuRuntimePaths {
  dir: string;
  qmpSocket: string;
  /** The second monitor, for one resident listener of QEMU's events (snapvirtd's domain watch). */
  eventsSocket: string;
  pidfile: string;
  /** QEMU's stdout and stderr (HMP qemu-io output lands here too). */
  logFile: string;
  /** The guest agent's socket (only used when the domain has an agent channel). */
  guestAgentSocket: string;
}

/** Where a process's files live inside `runtimeDir`. */
export function qemuRuntimePaths(runtimeDir: string): QemuRuntimePaths {
  return {
    dir: runtimeDir,
    qmpSocket: join(runtimeDir, 'qmp.sock'),
    eventsSocket: join(runtimeDir, 'events.sock'),
    pidfile: join(runtimeDir, 'qemu.pid'),
    logFile: join(runtimeDir, 'qemu.log'),
    guestAgentSocket: join(runtimeDir, 'qga.sock'),
  };
}

/** Options for {@link QemuProcess.start}. */
export interface StartQemuOptions {
  def: DomainDef;
  /** Private directory for socket, pidfile and log; created 0700. */
  runtimeDir: string;
  /** Default: kvm when /dev/kvm is usable, else tcg. */
  accel?: QemuAccelerator;
  /** Start with vCPUs stopped (-S). */
  paused?: boolean;
  /** Wait for a memory state (-incoming defer). */
  incoming?: boolean;
  binary?: string;
  /** Bound on spawn → QMP ready; default 30 s. */
  readyTimeoutMs?: number;
  /** The TPM state directory (tpmStateDirFor), needed when the domain has an emulated TPM. */
  tpmStateDir?: string;
}

/** Options for {@link QemuProcess.stop}. */
export interface StopQemuOptions {
  /** How long to wait after `quit` before SIGKILL; default 5 s. */
  graceMs?: number;
}

// unix socket paths are limited to 108 bytes including the NUL.
const MAX_SOCKET_PATH = 107;

/** A running QEMU with its QMP connection. */
export class QemuProcess {
  private child: ChildProcess | undefined;
  private childExited = false;

  private constructor(
    /** The QEMU process id. */
    readonly pid: number,
    /** The connected monitor. */
    readonly qmp: QmpClient,
    readonly paths: QemuRuntimePaths,
    /** Milliseconds from spawn (or attach) to the qmp_capabilities reply. */
    readonly readyMs: number,
    /** The disk layout of the command line (only known for processes we started). */
    readonly disks: readonly CommandLineDisk[] | undefined,
  ) {}

  /** Spawns QEMU for `def` and connects to its monitor; fails with QEMU's own stderr if it exits. */
  static async start(opts: StartQemuOptions): Promise<QemuProcess> {
    const paths = qemuRuntimePaths(opts.runtimeDir);
    if (Buffer.byteLength(paths.qmpSocket) > MAX_SOCKET_PATH) {
      throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `monitor socket path too long: ${paths.qmpSocket}`);
    }
    // QEMU opens every disk's chain and would probe a layer whose format is not recorded:
    // refused here, where every start, restart and transient create passes, before the spawn.
    await refuseLoopingDisks(opts.def, refuseUnsafeChain);
    // The variable store is created from its template at the first start (libvirt does it then too).
    prepareNvramFile(opts.def);
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    await chmod(paths.dir, 0o700);
    const existingPid = await readPidfile(paths.pidfile);
    if (existingPid !== undefined && await isQemuAlive(existingPid, paths)) {
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, `domain is already running (pid ${existingPid})`);
    }
    // Stale files of a dead process would make QEMU fail to bind or mislead a reattach.
    await rm(paths.qmpSocket, { force: true });
    await rm(paths.eventsSocket, { force: true });
    await rm(paths.pidfile, { force: true });

    // swtpm listens before QEMU connects to it; a QEMU that fails to start leaves none behind.
    if (tpmOf(opts.def) && opts.tpmStateDir === undefined) {
      throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, 'no TPM state directory for a domain with a TPM');
    }
    const tpmSocketPath = opts.tpmStateDir === undefined ? undefined : await startSwtpm(opts.def, paths.dir, opts.tpmStateDir);
    try {
      return await QemuProcess.spawn(opts, paths, tpmSocketPath);
    } catch (err) {
      await stopSwtpm(paths.dir);
      throw err;
    }
  }

  /** Spawns QEMU in `paths` and connects to its monitor (start's second half, after swtpm). */
  private static async spawn(opts: StartQemuOptions, paths: QemuRuntimePaths, tpmSocketPath: string | undefined): Promise<QemuProcess> {
    const accel = opts.accel ?? await chooseAccelerator(opts.def);
    const caps = await capabilitiesFor(opts.def, opts.binary ?? emulatorOf(opts.def) ?? QEMU_SYSTEM_BINARY);
    const cmd = buildQemuCommandLine(opts.def, {
      accel, qmpSocketPath: paths.qmpSocket, eventsSocketPath: paths.eventsSocket, pidfilePath: paths.pidfile, paused: opts.paused, binary: opts.binary,
      incoming: opts.incoming, guestAgentSocketPath: paths.guestAgentSocket, ...(caps ? { caps } : {}),
      canCreateTaps: process.getuid?.() === 0, ...(tpmSocketPath !== undefined ? { tpmSocketPath } : {}),
    });
    await refuseMissingBridges(cmd.taps);
    const log = await open(paths.logFile, 'a', 0o600);
    const started = performance.now();
    let child: ChildProcess;
    // QEMU creates the socket and pidfile with the inherited umask; 077 makes them 0600.
    const oldUmask = process.umask(0o077);
    try {
      child = spawn(cmd.binary, cmd.args, { detached: true, stdio: ['ignore', log.fd, log.fd] });
    } finally {
      process.umask(oldUmask);
      await log.close();
    }
    let exitInfo: string | undefined;
    let spawnError: Error | undefined;
    child.on('exit', (code, signal) => { exitInfo = signal ? `signal ${signal}` : `exit code ${code}`; });
    child.on('error', (err) => { spawnError = err; exitInfo = err.message; });
    child.unref();

    const deadline = started + (opts.readyTimeoutMs ?? 30_000);
    let qmp: QmpClient | undefined;
    while (!qmp) {
      if (exitInfo !== undefined) {
        const tail = await readLogTail(paths.logFile);
        throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU,
          `process exited while connecting to monitor: ${tail || exitInfo}`);
      }
      if (performance.now() > deadline) {
        child.kill('SIGKILL');
        throw virError(VirErrorCode.OPERATION_TIMEOUT, VirErrorDomain.QEMU, 'QEMU monitor did not become ready');
      }
      try {
        qmp = await QmpClient.connect(paths.qmpSocket, { timeoutMs: Math.max(1000, deadline - performance.now()) });
      } catch (err) {
        if (isNotListening(err)) {
          await sleep(5);
          continue;
        }
        // QEMU listens before it opens the disks, so a failing start often shows up as a
        // dropped connection: give the exit a moment to arrive, then report QEMU's own text.
        const exitDeadline = performance.now() + 2000;
        while (exitInfo === undefined && performance.now() < exitDeadline) await sleep(10);
        if (exitInfo !== undefined) continue;
        child.kill('SIGKILL');
        throw err;
      }
    }
    // QEMU made the sockets with mode 0777 & ~umask (0700); a socket needs no execute bit.
    // Every chardev exists before the first monitor answers.
    await chmod(paths.qmpSocket, 0o600);
    await chmod(paths.eventsSocket, 0o600);
    const readyMs = performance.now() - started;
    if (spawnError || child.pid === undefined) {
      qmp.destroy();
      throw virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.QEMU,
        `cannot execute binary ${cmd.binary}: ${spawnError ? errnoText(spawnError) : 'no process id'}`);
    }
    const proc = new QemuProcess(child.pid, qmp, paths, readyMs, cmd.disks);
    proc.child = child;
    child.on('exit', () => { proc.childExited = true; });
    if (exitInfo !== undefined) proc.childExited = true;
    try {
      // Secrets (a VNC password) go over the monitor, never onto the command line.
      for (const setup of cmd.monitorSetup) await qmp.execute(setup.execute, setup.arguments);
      await setUpTaps(qmp, cmd.taps);
    } catch (err) {
      await proc.stop({ graceMs: 1000 });
      throw err;
    }
    return proc;
  }

  /** Reattaches to a QEMU started earlier (by any process) from its runtime directory. */
  static async attach(runtimeDir: string, opts: { timeoutMs?: number } = {}): Promise<QemuProcess> {
    const paths = qemuRuntimePaths(runtimeDir);
    const pid = await readPidfile(paths.pidfile);
    if (pid === undefined || !await isQemuAlive(pid, paths)) {
      throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU, 'domain is not running');
    }
    const started = performance.now();
    // QEMU serves one monitor client at a time: this waits while another client is attached.
    const qmp = await QmpClient.connect(paths.qmpSocket, { timeoutMs: opts.timeoutMs ?? 10_000 });
    return new QemuProcess(pid, qmp, paths, performance.now() - started, undefined);
  }

  /** True while the QEMU process exists and is really ours (not a recycled pid). */
  async isAlive(): Promise<boolean> {
    if (this.child && this.childExited) return false;
    return isQemuAlive(this.pid, this.paths);
  }

  /** Resolves true once the process is gone, false if it is still alive after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (!await this.isAlive()) return true;
      if (performance.now() > deadline) return false;
      await sleep(10);
    }
  }

  /** Stops QEMU: `quit` over QMP, then SIGKILL if it is still there after the grace time. */
  async stop(opts: StopQemuOptions = {}): Promise<void> {
    const graceMs = opts.graceMs ?? 5000;
    if (!this.qmp.isClosed) {
      try {
        await this.qmp.execute('quit', undefined, { timeoutMs: graceMs });
      } catch {
        // A disconnect here is QEMU quitting before its reply reached us; any other failure
        // (timeout, wedged monitor) is handled by the SIGKILL below.
      }
    }
    if (!await this.waitForExit(graceMs)) {
      this.kill();
      await this.waitForExit(graceMs);
    }
    this.qmp.destroy('process stopped');
    await rm(this.paths.qmpSocket, { force: true });
    await rm(this.paths.eventsSocket, { force: true });
    await rm(this.paths.pidfile, { force: true });
    await stopSwtpm(this.paths.dir);
  }

  /** Sends SIGKILL now (crash tests, and the last resort of stop). */
  kill(): void {
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/**
 * The pid in `pidfile`, or undefined when it is absent or unreadable. Read synchronously,
 * as isQemuAlive reads /proc: a few bytes of a local file cost microseconds this way, where
 * the promise API's open, stat, read and close each go through the thread pool, and every
 * `virsh list` or `domstate` asks this of each running domain.
 */
export async function readPidfile(pidfile: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(readFileSync(pidfile, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when the QEMU whose pidfile and socket live in `runtimeDir` is running: lets a
 * later command tell a live domain from one whose QEMU died, without connecting.
 */
export async function isQemuRunningIn(runtimeDir: string): Promise<boolean> {
  const paths = qemuRuntimePaths(runtimeDir);
  const pid = await readPidfile(paths.pidfile);
  return pid !== undefined && isQemuAlive(pid, paths);
}

/**
 * Ends the QEMU of `runtimeDir` as libvirt's destroy does: SIGTERM (QEMU flushes its
 * images and exits), then SIGKILL if it is still there after `graceMs` (0: SIGKILL at
 * once). Removes the socket and pidfile. False when no QEMU of ours was running there.
 */
export async function terminateQemuIn(runtimeDir: string, graceMs = 5000): Promise<boolean> {
  const paths = qemuRuntimePaths(runtimeDir);
  const pid = await readPidfile(paths.pidfile);
  if (pid === undefined || !await isQemuAlive(pid, paths)) {
    // A swtpm whose QEMU never connected (killed mid-start) does not end by itself.
    await stopSwtpm(runtimeDir);
    return false;
  }
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // Already gone.
    }
  };
  signal(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
  const deadline = performance.now() + graceMs;
  while (await isQemuAlive(pid, paths)) {
    if (performance.now() > deadline) {
      signal('SIGKILL');
      const killDeadline = performance.now() + 5000;
      while (await isQemuAlive(pid, paths) && performance.now() < killDeadline) await sleep(10);
      break;
    }
    await sleep(10);
  }
  await rm(paths.qmpSocket, { force: true });
  await rm(paths.eventsSocket, { force: true });
  await rm(paths.pidfile, { force: true });
  await stopSwtpm(runtimeDir);
  return true;
}

/** True when `pid` is a live process whose command line names our QMP socket, or one still exiting. */
async function isQemuAlive(pid: number, paths: QemuRuntimePaths): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const statText = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command name (which may itself contain spaces).
    const state = statText.slice(statText.lastIndexOf(')') + 2, statText.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return otherThreadsRemain(pid);
    const cmdlineText = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    // An exiting process loses its command line before it closes its files (and drops
    // its image locks): until it is a zombie, it still counts as alive.
    if (cmdlineText === '') return true;
    const cmdline = cmdlineText.split('\0');
    return cmdline.some((arg) => arg.includes(paths.qmpSocket.replace(/,/g, ',,')));
  } catch {
    // No /proc (not Linux): trust kill(0).
    return (await stat('/proc').catch(() => undefined)) === undefined;
  }
}

/**
 * Whether a process whose main thread is a zombie still has other threads. A killed
 * multi-threaded process (QEMU) shows its leader as a zombie while its other threads are
 * still exiting, and the process's files (with QEMU's image locks) close only when the
 * last thread is gone: a qemu-img started before then fails on the "write" lock.
 */
async function otherThreadsRemain(pid: number): Promise<boolean> {
  try {
    return (await readdir(`/proc/${pid}/task`)).some((tid) => tid !== String(pid));
  } catch {
    return false;
  }
}

/** True for the errors of connecting before QEMU listens (socket missing or not accepting). */
function isNotListening(err: unknown): boolean {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

async function readLogTail(logFile: string): Promise<string> {
  try {
    return (await readFile(logFile, 'utf8')).trim().split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
