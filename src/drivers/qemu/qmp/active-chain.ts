/**
 * What each disk of a running QEMU is using right now, from `query-block`. With -blockdev
 * the `device` field is empty, so disks are identified by their `qdev` path and their
 * top node name. Recovery compares this with a journal entry to decide whether a live
 * switch happened (roll forward) or not (roll back).
 */
import type { QmpClient } from './qmp-client.js';
import { expectArray, expectNumber, expectObject, expectString, isJsonObject, optionalString } from './qmp-json.js';
import { targetFromQdev } from './disk-node-names.js';

/** One image of a backing chain. */
export interface ChainLayer {
  filename: string;
  format: string;
}

/** A disk's active chain as QEMU reports it. */
export interface ActiveDiskChain {
  /** query-block's qdev path, e.g. /machine/peripheral/disk-vda/virtio-backend. */
  qdev: string;
  /** The disk target derived from the qdev (vda), or undefined for devices we did not name. */
  target: string | undefined;
  /** The top (active) format node. */
  nodeName: string;
  /** The top image's file name. */
  file: string;
  /** The top image's format driver (qcow2, raw…). */
  format: string;
  readOnly: boolean;
  /** How many backing images lie below the top (0 for a bare base). */
  backingDepth: number;
  /** The whole chain, top first. */
  chain: ChainLayer[];
}

/** Summarises `query-block` per disk; drives without media (empty CD-ROMs) are left out. */
export async function readActiveChain(qmp: QmpClient): Promise<ActiveDiskChain[]> {
  return parseQueryBlock(await qmp.execute('query-block'));
}

/** Parses a `query-block` reply (pure, for tests and recovery). */
export function parseQueryBlock(reply: unknown): ActiveDiskChain[] {
  const result: ActiveDiskChain[] = [];
  for (const entry of expectArray(reply, 'query-block')) {
    const dev = expectObject(entry, 'query-block entry');
    if (!isJsonObject(dev.inserted)) continue;
    const inserted = dev.inserted;
    const qdev = optionalString(dev, 'qdev') ?? '';
    const chain: ChainLayer[] = [];
    let image: unknown = inserted.image;
    while (isJsonObject(image)) {
      chain.push({ filename: expectString(image, 'filename', 'query-block image'), format: expectString(image, 'format', 'query-block image') });
      image = image['backing-image'];
    }
    result.push({
      qdev,
      target: targetFromQdev(qdev),
      nodeName: expectString(inserted, 'node-name', 'query-block inserted'),
      file: expectString(inserted, 'file', 'query-block inserted'),
      format: expectString(inserted, 'drv', 'query-block inserted'),
      readOnly: inserted.ro === true,
      backingDepth: expectNumber(inserted, 'backing_file_depth', 'query-block inserted'),
      chain,
    });
  }
  return result;
}
