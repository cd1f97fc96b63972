/**
 * Whether an operation holds a domain's lock right now, for a look at the domains'
 * states (domain-state-book.ts) to leave that domain alone until the operation is done.
 *
 * Why: asking the QEMU driver for a domain's state is not a pure read. A recorded QEMU
 * found dead is marked shut off, reason "crashed", without the domain's lock; a look that
 * asked while another process was destroying the domain (its QEMU just killed, the stop
 * not yet recorded) would mark it crashed, and hear "crashed" from then on. Only the
 * driver can close that window for every caller (its fix, taking the lock first, goes
 * with the next crash-matrix run); a look, which asks every second, keeps out of it by
 * asking only about domains nobody is operating on.
 *
 * The QEMU driver's locks live in `<stateDir>/locks` (src/txn/context.ts), and a holder
 * file names the holder while it is held (src/txn/domain-lock.ts). Other drivers have no
 * locks: nothing is busy.
 */
import { join } from 'node:path';
import type { HypervisorDriver } from '../drivers/driver.js';
import { isHolderDead, readLockHolder } from '../txn/index.js';

/** A probe telling whether domain `uuid` is locked by a live holder, or undefined for a driver without locks. */
export function domainBusyProbe(driver: HypervisorDriver): ((uuid: string) => boolean) | undefined {
  const stateDir = (driver as { store?: { stateDir?: unknown } }).store?.stateDir;
  if (typeof stateDir !== 'string') return undefined;
  const lockDir = join(stateDir, 'locks');
  return (uuid) => {
    const holder = readLockHolder(lockDir, uuid);
    return holder !== undefined && !isHolderDead(holder);
  };
}
