/**
 * virDomainGetBlockInfo for the QEMU driver, with libvirt's arithmetic
 * (qemuDomainGetBlockInfo). Shut off: from the file, as qemuStorageLimitsRefresh does:
 * physical is its size, allocation the bytes it occupies on the host (st_blocks), capacity
 * the guest-visible size (the qcow2 header's, a raw file's size). Running: from QEMU
 * (query-block's virtual-size and actual-size, query-blockstats' wr_highest_offset), a
 * qcow2 file's allocation being its actual size, a raw one's its highest written offset;
 * where they coincide (or one is 0) physical is the file's size instead.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import type { DomainDiskDef } from '../../../conf/domain-types.js';
import type { TxnContext } from '../../../txn/index.js';
import type { BlockInfo } from '../../block-driver.js';
import type { DomainRef } from '../../driver.js';
import { loadDomain } from '../catalog/snapshot-catalog.js';
import { liveDef, liveRuntime } from '../domain/active-domains.js';
import { inspectImage } from '../images/image-inspect.js';
import { targetFromQdev } from '../qmp/disk-node-names.js';
import { withMonitor } from '../qmp/domain-monitor.js';
import type { QmpClient } from '../qmp/qmp-client.js';
import { expectArray, isJsonObject, optionalString } from '../qmp/qmp-json.js';
import { checkQemuFlags } from '../qemu-flags.js';
import { diskByName } from './block-disk.js';

/** The disk's sizes; the running QEMU's view while the domain runs. */
export async function getBlockInfoQemu(ctx: TxnContext, dom: DomainRef, disk: string, flags: number): Promise<BlockInfo> {
  checkQemuFlags(flags, 'getBlockInfo');
  const rt = await liveRuntime(ctx, dom.uuid);
  const def = rt ? liveDef(ctx, dom) : loadDomain(ctx.store, dom).def;
  let d: DomainDiskDef;
  try {
    d = diskByName(def, disk);
  } catch {
    // qemuDomainGetBlockInfo words it apart from the block jobs.
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.QEMU, `invalid path ${disk} not assigned to domain`);
  }
  const path = sourceOf(d, disk);
  if (!rt) return offlineInfo(d, path);
  return withMonitor(rt.runtimeDir, (qmp) => liveInfo(qmp, d.target, path));
}

function sourceOf(d: DomainDiskDef, disk: string): string {
  if (d.sourcePath === undefined) {
    throw virError(VirErrorCode.INVALID_ARG, VirErrorDomain.QEMU, `disk '${disk}' does not currently have a source assigned`);
  }
  return resolve(d.sourcePath);
}

async function offlineInfo(d: DomainDiskDef, path: string): Promise<BlockInfo> {
  const st = await stat(path);
  const format = d.format ?? 'raw';
  const physical = st.isBlockDevice() ? (await inspectImage(path, format, { allowBlock: true })).actualSize : st.size;
  const capacity = format === 'raw' && !st.isBlockDevice() ? st.size : (await inspectImage(path, format, { allowBlock: st.isBlockDevice() })).virtualSize;
  return { capacity, allocation: st.blocks * 512, physical };
}

async function liveInfo(qmp: QmpClient, target: string, path: string): Promise<BlockInfo> {
  let capacity = 0;
  let actual = 0;
  let format = '';
  for (const b of expectArray(await qmp.execute('query-block'), 'query-block')) {
    if (!isJsonObject(b) || targetFromQdev(optionalString(b, 'qdev') ?? '') !== target || !isJsonObject(b.inserted)) continue;
    const image = isJsonObject(b.inserted.image) ? b.inserted.image : {};
    capacity = typeof image['virtual-size'] === 'number' ? image['virtual-size'] : 0;
    actual = typeof image['actual-size'] === 'number' ? image['actual-size'] : 0;
    format = optionalString(b.inserted, 'drv') ?? '';
  }
  let highest: number | undefined;
  for (const s of expectArray(await qmp.execute('query-blockstats'), 'query-blockstats')) {
    if (!isJsonObject(s) || targetFromQdev(optionalString(s, 'qdev') ?? '') !== target || !isJsonObject(s.stats)) continue;
    if (typeof s.stats.wr_highest_offset === 'number') highest = s.stats.wr_highest_offset;
  }
  let allocation = highest === undefined || format === 'qcow2' ? actual : highest;
  let physical = actual;
  if (actual === 0 || allocation === 0 || allocation === actual) {
    if (allocation === 0) allocation = actual;
    physical = (await stat(path)).size;
  }
  return { capacity, allocation, physical };
}
