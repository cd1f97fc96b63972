/**
 * Revert of a transient domain: it has no definition to stay shut off with, so a snapshot
 * without a running state needs --running or --paused (libvirt's check); and a revert that
 * leaves it stopped (QEMU failed to start again) makes it vanish.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../../api/errors.js';
import { SnapshotRevertFlags as R } from '../../../../api/flags.js';
import { lockDomain, type TxnContext } from '../../../../txn/index.js';
import type { DomainRef } from '../../../driver.js';
import { forgetStoppedTransient, isDomainRunning } from '../../domain/active-domains.js';
import { revertWithProcess } from './revert-active.js';

/** Reverts transient domain `dom` to `snapshot`, whose recorded state is `state`. */
export async function revertTransient(ctx: TxnContext, dom: DomainRef, snapshot: string, state: string | undefined, flags: number): Promise<void> {
  if (state !== 'running' && state !== 'paused' && !(flags & (R.RUNNING | R.PAUSED))) {
    throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.QEMU,
      'transient domain needs to request run or pause to revert to inactive snapshot');
  }
  try {
    await revertWithProcess(ctx, dom, snapshot, flags);
  } finally {
    await lockDomain(ctx, dom.uuid, 'snapshot-revert', async () => {
      if (!await isDomainRunning(ctx, dom.uuid)) forgetStoppedTransient(ctx, dom.uuid);
    });
  }
}
