/**
 * The swtpm of a domain with an emulated TPM, run as libvirt runs it: its state directory
 * `<stateDir>/tpm/<uuid>` (0700, files 0600) is manufactured by swtpm_setup at the first
 * start (libvirt's arguments: TPM 2.0, EK and its certificate, platform certificate, NVRAM
 * locked, never over existing state), then `swtpm socket --terminate --daemon` serves a
 * control socket in the QEMU's runtime directory. It is started before QEMU, and ends
 * with it: --terminate makes it exit once QEMU's connection is gone, and the stop of the
 * domain ends it explicitly too.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import { tpmOf } from '../domain/devices/tpm.js';

const run = promisify(execFile);
const SWTPM = 'swtpm';
const SWTPM_SETUP = 'swtpm_setup';
/** The file swtpm keeps a TPM 2.0's permanent state in: present once manufactured. */
export const TPM2_STATE_FILE = 'tpm2-00.permall';

/** Where domain `uuid` keeps its TPM state. */
export function tpmStateDirFor(stateDir: string, uuid: string): string {
  return join(stateDir, 'tpm', uuid);
}

/** The files of a running swtpm inside the QEMU's runtime directory. */
export function swtpmPaths(runtimeDir: string): { socket: string; pidfile: string; log: string } {
  return { socket: join(runtimeDir, 'swtpm.sock'), pidfile: join(runtimeDir, 'swtpm.pid'), log: join(runtimeDir, 'swtpm.log') };
}

/**
 * Starts the swtpm of `def` (nothing without a TPM) and returns its socket: the state is
 * manufactured first when `tpmStateDir` holds none yet.
 */
export async function startSwtpm(def: DomainDef, runtimeDir: string, tpmStateDir: string): Promise<string | undefined> {
  if (!tpmOf(def)) return undefined;
  const paths = swtpmPaths(runtimeDir);
  await manufactureTpmState(def, tpmStateDir, paths.log);
  await stopSwtpm(runtimeDir);
  await swtpmCommand(SWTPM, [
    'socket', '--tpm2', '--tpmstate', `dir=${tpmStateDir},mode=0600`,
    '--ctrl', `type=unixio,path=${paths.socket},mode=0600`, '--log', `file=${paths.log}`,
    '--pid', `file=${paths.pidfile}`, '--terminate', '--daemon',
  ]);
  // --daemon returns once the socket listens; a missing socket is swtpm failing after the fork.
  if (!existsSync(paths.socket)) {
    throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, `swtpm did not create its socket ${paths.socket}`);
  }
  return paths.socket;
}

/**
 * The TPM's permanent state file in `tpmStateDir`, manufactured first by swtpm_setup when
 * absent (the directory made 0700): libvirt does it at the first start, a snapshot of a
 * domain never started does it too so that it captures what the first start would use.
 */
export async function manufactureTpmState(def: DomainDef, tpmStateDir: string, logFile?: string): Promise<string> {
  const stateFile = join(tpmStateDir, TPM2_STATE_FILE);
  await mkdir(tpmStateDir, { recursive: true, mode: 0o700 });
  await chmod(tpmStateDir, 0o700);
  if (!existsSync(stateFile)) {
    await swtpmCommand(SWTPM_SETUP, [
      '--tpm2', '--tpmstate', tpmStateDir, '--vmid', `${def.name}:${def.uuid}`, ...(logFile !== undefined ? ['--logfile', logFile] : []),
      '--createek', '--create-ek-cert', '--create-platform-cert', '--lock-nvram', '--not-overwrite',
    ]);
  }
  return stateFile;
}

/** Ends the swtpm serving `runtimeDir` (SIGTERM, SIGKILL after 5 s) and removes its files; false when none ran. */
export async function stopSwtpm(runtimeDir: string): Promise<boolean> {
  const paths = swtpmPaths(runtimeDir);
  const pid = await swtpmPid(paths.pidfile, paths.socket);
  if (pid !== undefined) {
    signal(pid, 'SIGTERM');
    const deadline = performance.now() + 5000;
    while (await isAlive(pid) && performance.now() < deadline + 5000) {
      if (performance.now() > deadline) signal(pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  await rm(paths.socket, { force: true });
  await rm(paths.pidfile, { force: true });
  return pid !== undefined;
}

/** The pid in `pidfile` when it is a live swtpm serving `socket` (never a recycled pid). */
async function swtpmPid(pidfile: string, socket: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number.parseInt((await readFile(pidfile, 'utf8')).trim(), 10);
    if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return cmdline.some((arg) => arg.includes(`path=${socket},`)) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True while `pid` runs; a zombie (exited, its new parent not done reaping it) is gone. */
async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Runs swtpm or swtpm_setup; a failure carries its own stderr, as libvirt reports it. */
async function swtpmCommand(binary: string, args: string[]): Promise<void> {
  try {
    await run(binary, args, { timeout: 60_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const detail = e.code === 'ENOENT' ? `Unable to find '${binary}' binary: No such file or directory` : `${binary} failed: ${(e.stderr ?? '').trim() || e.message}`;
    throw virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, detail);
  }
}
