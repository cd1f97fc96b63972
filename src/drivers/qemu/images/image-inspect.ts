/**
 * `qemu-img info` without the process: an image's header read natively (qcow2-header.ts)
 * and its QEMU locks probed natively (image-lock-probe.ts), for qcow2 and raw regular
 * files. Any case the native readers are not sure about (another format, a block device,
 * an unusual header, an unreadable file, a lock the probe cannot attribute) goes to
 * qemu-img itself, always with the format given, so errors keep qemu-img's own text and
 * odd images are judged by qemu. A FIFO, socket or character device goes to neither.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { checkImageFileType, openImageFile } from './image-file-open.js';
import { probeImageLock, type ImageAccess, type LockTable } from './image-lock-probe.js';
import { readQcow2Header } from './qcow2-header.js';
import { imageInfo, type ImageInfo } from './qemu-img.js';

/** Options for {@link inspectImage}. */
export interface InspectOptions {
  /**
   * Refuse an image another process holds in a way that conflicts with this use ('read':
   * as `qemu-img info` without -U does; 'write': as a qemu-img that changes the image
   * would). Omitted: no lock check (`qemu-img info -U`).
   */
  access?: ImageAccess;
  /** The /proc/locks reading to judge the lock from (one per check over several images); read anew when omitted. */
  lockTable?: LockTable;
  /** Accept a block device (a disk whose definition says `type='block'`); otherwise regular files only. */
  allowBlock?: boolean;
}

/** True when native reading is switched off (SNAPVIRT_NATIVE_QCOW2=0: everything through qemu-img). */
function nativeDisabled(): boolean {
  return process.env.SNAPVIRT_NATIVE_QCOW2 === '0';
}

/** What qemu-img info says about `path` opened as `format`, read natively where possible. */
export async function inspectImage(path: string, format: string, opts: InspectOptions = {}): Promise<ImageInfo> {
  // Neither this process nor qemu-img ever opens a FIFO, socket or device as an image.
  await checkImageFileType(path, { allowBlock: opts.allowBlock ?? false });
  if (nativeDisabled()) return imageInfo(path, format, opts.access ? {} : { forceShare: true });
  // The header and the lock are read at once; the lock answer is unused if qemu-img must answer.
  const probe = opts.access ? probeImageLock(path, opts.access, opts.lockTable) : undefined;
  const native = await readNatively(path, format);
  if (!native) return imageInfo(path, format, opts.access ? {} : { forceShare: true });
  if (probe) {
    const lock = await probe;
    if (lock.kind === 'unknown') return imageInfo(path, format, {});
    if (lock.kind === 'held') {
      // The error qemu-img would have given (callers wrap it with the image's name).
      throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `Could not open '${path}': ${lock.message}`);
    }
  }
  return native;
}

/** The internal snapshot tags of a qcow2 image (no lock check: callers change it with qemu-img, which locks). */
export async function snapshotTagsOf(path: string): Promise<{ id: string; name: string }[]> {
  return (await inspectImage(path, 'qcow2')).snapshots;
}

/** ImageInfo from the file itself, or undefined when qemu-img should answer. */
async function readNatively(path: string, format: string): Promise<ImageInfo | undefined> {
  if (format !== 'qcow2' && format !== 'raw') return undefined;
  let handle;
  try {
    handle = await openImageFile(path);
  } catch {
    return undefined;
  }
  try {
    const st = await handle.stat();
    const base = { filename: path, format, actualSize: st.blocks * 512 };
    if (format === 'raw') return { ...base, virtualSize: st.size, snapshots: [], dirty: false };
    const header = await readQcow2Header(handle, path);
    if (!header) return undefined;
    const info: ImageInfo = {
      ...base,
      virtualSize: header.virtualSize,
      snapshots: header.snapshots.map((s) => ({ id: s.id, name: s.name, vmStateSize: s.vmStateSize, dateSec: s.dateSec })),
      dirty: header.dirty,
    };
    if (header.backingFilename !== undefined) info.backingFilename = header.backingFilename;
    if (header.fullBackingFilename !== undefined) info.fullBackingFilename = header.fullBackingFilename;
    if (header.backingFormat !== undefined) info.backingFormat = header.backingFormat;
    return info;
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}
