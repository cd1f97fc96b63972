/**
 * Autostart: domains marked with virDomainSetAutostart are started once per host boot, by
 * the first process that opens the QEMU driver after the boot (snapvirtd at its start, or
 * any `snapvirt` command or library connection), as libvirtd starts them when it starts.
 * A boot is known by /proc/sys/kernel/random/boot_id: the process that creates the marker
 * `<stateDir>/boot-<boot id>` (exclusively, so exactly one does) starts them; every later
 * opening in the same boot finds the marker and starts nothing. Markers of earlier boots
 * are removed. A domain that fails to start is reported on stderr, as libvirtd logs it,
 * and the others are still started.
 */
import { existsSync } from 'node:fs';
import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { currentBootId, type TxnContext } from '../../../txn/index.js';
import { isDomainRunning, startDomain } from './active-domains.js';

/** The marker file that says this boot's autostart was done. */
export function autostartMarkerFor(stateDir: string, bootId: string): string {
  return join(stateDir, `boot-${bootId}`);
}

/** Claims this boot for autostart (true for exactly one caller per boot and state dir). */
async function claimBoot(stateDir: string, bootId: string): Promise<boolean> {
  // Every opening but the boot's first finds the marker: a stat, where the exclusive create
  // below (which alone decides who claims) costs a file open and close on the thread pool.
  if (existsSync(autostartMarkerFor(stateDir, bootId))) return false;
  try {
    await (await open(autostartMarkerFor(stateDir, bootId), 'wx', 0o600)).close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  for (const name of await readdir(stateDir)) {
    if (name.startsWith('boot-') && name !== `boot-${bootId}`) await rm(join(stateDir, name), { force: true });
  }
  return true;
}

/** Starts every autostart domain that is not running, if this is the first opening since the host booted. */
export async function autostartAfterBoot(ctx: TxnContext): Promise<void> {
  const bootId = currentBootId();
  try {
    if (bootId === '' || !await claimBoot(ctx.store.stateDir, bootId)) return;
  } catch (err) {
    // Opening the connection must not fail for this: the next opening tries again.
    report(`cannot record this boot for autostart: ${messageOf(err)}`);
    return;
  }
  for (const rec of ctx.store.domains.list()) {
    if (!rec.autostart || !rec.persistent) continue;
    try {
      if (await isDomainRunning(ctx, rec.uuid)) continue;
      await startDomain(ctx, { uuid: rec.uuid, name: rec.name, id: -1 }, 0);
    } catch (err) {
      report(`Failed to autostart VM '${rec.name}': ${messageOf(err)}`);
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** libvirtd logs these; snapvirt has no log, so they go to stderr. */
function report(message: string): void {
  process.stderr.write(`snapvirt: ${message}\n`);
}
