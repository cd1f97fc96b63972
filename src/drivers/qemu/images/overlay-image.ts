/**
 * Creates the qcow2 overlay files of a live snapshot, outside QEMU's critical section,
 * with the driver's one overlay writer (overlay-file.ts): the file is first claimed
 * exclusively with mode 0600 (an existing file is never overwritten and the overlay is
 * never world-readable, even briefly), then its qcow2 header is written natively (or by
 * qemu-img), fsynced; failures are VirErrors. The caller fsyncs the directories.
 */
import { claimNewFile, createOverlayFile } from './overlay-file.js';

/** What to write into a new overlay's header. */
export interface OverlaySpec {
  /** Absolute path of the overlay to create. */
  path: string;
  /** Overlay format; only qcow2 can carry a backing file here. */
  format: 'qcow2';
  /** Absolute path of the image below it, stored verbatim in the header. */
  backingPath: string;
  /** The backing image's format, stored in the header so it is never probed. */
  backingFormat: string;
}

/**
 * Creates the overlay. `onCreated` is called as soon as the file exists, before it is
 * formatted, so the caller can record it for cleanup even if formatting then fails.
 */
export async function createOverlayImage(spec: OverlaySpec, onCreated: (path: string) => void): Promise<void> {
  await claimNewFile(spec.path);
  onCreated(spec.path);
  // The backing is open in QEMU, but its header (virtual size) is stable while it runs:
  // qemu-img create -b reads the same field.
  await createOverlayFile(spec.path, { path: spec.backingPath, format: spec.backingFormat }, { claimed: true });
}
