/**
 * Opening the QEMU driver for qemu:///system or qemu:///session: its state store (its own,
 * or the one a store pool lends: snapvirtd's clients share one per state directory), the
 * journal's handlers, then recovery of whatever an earlier process left unfinished, and
 * the autostart of a new boot, before the first call.
 */
import type { DriverFactory } from '../driver.js';
import { privateStoreLease } from '../../store/store-pool.js';
import { createTxnContext } from '../../txn/index.js';
import { qemuUriKind, stateDirFor } from './catalog/qemu-paths.js';
import { autostartAfterBoot } from './domain/qemu-domain-lifecycle.js';
import { recoverJournal } from './journal/inactive-operation.js';
import { registerQemuHandlers } from './journal/register-handlers.js';
import { QemuDriver } from './qemu-driver.js';

export const openQemuDriver: DriverFactory = async (uri, rawUri, options) => {
  const stateDir = stateDirFor(qemuUriKind(uri));
  const lease = options?.storePool?.lease(stateDir) ?? privateStoreLease(stateDir);
  const ctx = createTxnContext(lease.store);
  registerQemuHandlers(ctx);
  try {
    // A store that cannot be written is read as it is: recovery would have to write.
    if (!lease.store.writeRefusal) { await recoverJournal(ctx); await autostartAfterBoot(ctx); }
  } catch (err) {
    lease.release();
    throw err;
  }
  return new QemuDriver(ctx, rawUri, () => lease.release());
};
