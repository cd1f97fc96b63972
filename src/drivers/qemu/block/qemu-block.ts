/**
 * The QEMU driver's block table: block jobs on running domains (libvirt's QEMU driver
 * refuses them on shut-off ones with "domain is not running", and so does snapvirt) and
 * block info of any domain.
 */
import type { TxnContext } from '../../../txn/index.js';
import type { BlockDriver, BlockInfo, BlockJobInfo } from '../../block-driver.js';
import type { DomainRef } from '../../driver.js';
import { blockCommitLive } from './block-commit-live.js';
import { getBlockInfoQemu } from './block-info.js';
import { blockJobAbortLive, getBlockJobInfoLive } from './block-job-control.js';
import { blockPullLive } from './block-pull-live.js';

/** virDomainBlock* for the QEMU driver. */
export class QemuBlock implements BlockDriver {
  constructor(readonly ctx: TxnContext) {}

  blockCommit(dom: DomainRef, disk: string, base: string | null, top: string | null, bandwidth: number, flags: number): Promise<void> {
    return blockCommitLive(this.ctx, dom, disk, base, top, bandwidth, flags);
  }

  blockRebase(dom: DomainRef, disk: string, base: string | null, bandwidth: number, flags: number): Promise<void> {
    return blockPullLive(this.ctx, dom, disk, base, bandwidth, flags, base === null ? 'blockPull' : 'blockRebase');
  }

  getBlockJobInfo(dom: DomainRef, disk: string, flags: number): Promise<BlockJobInfo | null> {
    return getBlockJobInfoLive(this.ctx, dom, disk, flags);
  }

  blockJobAbort(dom: DomainRef, disk: string, flags: number): Promise<void> {
    return blockJobAbortLive(this.ctx, dom, disk, flags);
  }

  getBlockInfo(dom: DomainRef, disk: string, flags: number): Promise<BlockInfo> {
    return getBlockInfoQemu(this.ctx, dom, disk, flags);
  }
}
