/**
 * The block-device calls of a driver (virDomainBlockCommit, virDomainBlockRebase,
 * virDomainGetBlockJobInfo, virDomainBlockJobAbort, virDomainGetBlockInfo), apart from
 * driver.ts so a driver without them simply leaves the table out.
 */
import type { DomainRef } from './driver.js';

/** virDomainBlockJobInfo: one disk's running block job. */
export interface BlockJobInfo {
  /** virDomainBlockJobType. */
  type: number;
  /** Bandwidth limit (MiB/s, or bytes/s with VIR_DOMAIN_BLOCK_JOB_INFO_BANDWIDTH_BYTES); 0: none. */
  bandwidth: number;
  /** Progress: `cur` of `end` units done. */
  cur: number;
  end: number;
  /** snapvirt's own: the job waits for a pivot or an abort (QEMU's READY). */
  ready: boolean;
}

/** virDomainBlockInfo, in bytes. */
export interface BlockInfo {
  capacity: number;
  allocation: number;
  physical: number;
}

/** The block-device calls; `disk` is a target name (vda) or the disk's source path. */
export interface BlockDriver {
  blockCommit(dom: DomainRef, disk: string, base: string | null, top: string | null, bandwidth: number, flags: number): Promise<void>;
  blockRebase(dom: DomainRef, disk: string, base: string | null, bandwidth: number, flags: number): Promise<void>;
  /** The disk's job, or null when it has none (virDomainGetBlockJobInfo's 0). */
  getBlockJobInfo(dom: DomainRef, disk: string, flags: number): Promise<BlockJobInfo | null>;
  blockJobAbort(dom: DomainRef, disk: string, flags: number): Promise<void>;
  getBlockInfo(dom: DomainRef, disk: string, flags: number): Promise<BlockInfo>;
}
