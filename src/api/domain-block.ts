/**
 * The block calls of a domain (virDomainBlockCommit, virDomainBlockPull,
 * virDomainBlockRebase, virDomainGetBlockJobInfo, virDomainBlockJobAbort,
 * virDomainGetBlockInfo): what libvirt's public entry points check before dispatch
 * (read-only connection, a disk named), then the driver's block table.
 */
import type { BlockDriver, BlockInfo, BlockJobInfo } from '../drivers/block-driver.js';
import type { DomainRef } from '../drivers/driver.js';
import type { Connection } from './connection.js';
import { virError, VirErrorCode, VirErrorDomain } from './errors.js';

/** What the Domain hands over: its connection and identity. */
export interface BlockCallTarget {
  connection: Connection;
  handle: DomainRef;
}

function blockDriver(target: BlockCallTarget, fn: string, writes: boolean, disk: string): BlockDriver {
  const driver = target.connection.driverFor(fn, VirErrorDomain.DOMAIN);
  if (writes) target.connection.denyIfReadOnly(fn);
  // virCheckNonNullArgGoto(disk): libvirt names the argument and the function.
  if (disk === '') throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.DOMAIN, `disk in ${fn} must not be NULL`);
  if (!driver.block) throw virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.NONE, fn);
  return driver.block;
}

/** virDomainBlockCommit. */
export function blockCommit(t: BlockCallTarget, disk: string, base: string | null, top: string | null, bandwidth: number, flags: number): Promise<void> {
  return blockDriver(t, 'virDomainBlockCommit', true, disk).blockCommit(t.handle, disk, base, top, bandwidth, flags);
}

/** virDomainBlockRebase (a pull when `flags` has no COPY), and virDomainBlockPull (base null). */
export function blockRebase(t: BlockCallTarget, fn: 'virDomainBlockPull' | 'virDomainBlockRebase', disk: string, base: string | null, bandwidth: number, flags: number): Promise<void> {
  return blockDriver(t, fn, true, disk).blockRebase(t.handle, disk, base, bandwidth, flags);
}

/** virDomainGetBlockJobInfo: null when the disk has no job. */
export function getBlockJobInfo(t: BlockCallTarget, disk: string, flags: number): Promise<BlockJobInfo | null> {
  return blockDriver(t, 'virDomainGetBlockJobInfo', false, disk).getBlockJobInfo(t.handle, disk, flags);
}

/** virDomainBlockJobAbort. */
export function blockJobAbort(t: BlockCallTarget, disk: string, flags: number): Promise<void> {
  return blockDriver(t, 'virDomainBlockJobAbort', true, disk).blockJobAbort(t.handle, disk, flags);
}

/** virDomainGetBlockInfo. */
export function getBlockInfo(t: BlockCallTarget, disk: string, flags: number): Promise<BlockInfo> {
  return blockDriver(t, 'virDomainGetBlockInfo', false, disk).getBlockInfo(t.handle, disk, flags);
}
