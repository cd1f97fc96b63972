/**
 * One private system libvirtd at a time on this host: each shares /etc/libvirt/qemu.conf,
 * /etc/libvirt/qemu (persistent definitions, loaded at start) and /run/libvirt with any
 * other, so a second one would load the first one's domains, reconnect to its QEMUs and
 * undefine them at its stop. `npm test` runs two files at once, so the test files that
 * start one take this lock first: a directory holding the holder's pid, taken over when
 * that process is gone.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const LOCK_DIR = '/tmp/snapvirt-private-libvirtd.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits until this process holds the lock; returns its release. */
export async function lockPrivateLibvirtd(): Promise<() => Promise<void>> {
  for (;;) {
    try {
      await mkdir(LOCK_DIR, { mode: 0o700 });
      await writeFile(join(LOCK_DIR, 'pid'), String(process.pid));
      return async () => { await rm(LOCK_DIR, { recursive: true, force: true }); };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(await readFile(join(LOCK_DIR, 'pid'), 'utf8').catch(() => ''), 10);
    // No pid yet: the holder is between mkdir and writeFile, or died there; the next round tells.
    if (Number.isSafeInteger(holder) && holder > 0 && !alive(holder)) {
      await rm(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
