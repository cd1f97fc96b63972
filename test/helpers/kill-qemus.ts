/**
 * Teardown that must not depend on the driver working: SIGKILLs every QEMU whose pidfile
 * lies under a snapvirt state directory (`<state>/run/<domain>/qemu.pid`).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** SIGKILLs every QEMU of `stateDir`; a pidfile of a process already gone is ignored. */
export async function killQemusUnder(stateDir: string): Promise<void> {
  const runDir = join(stateDir, 'run');
  for (const d of await readdir(runDir).catch(() => [] as string[])) {
    const pid = Number.parseInt(await readFile(join(runDir, d, 'qemu.pid'), 'utf8').catch(() => ''), 10);
    if (Number.isSafeInteger(pid) && pid > 0) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
}
