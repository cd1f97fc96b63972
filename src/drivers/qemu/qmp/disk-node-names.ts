/**
 * Stable QEMU names derived from a disk's target (vda, sdb…): block node names, the
 * guest device id, and the reverse mapping from query-block's `qdev` path. Names are a
 * pure function of the target (and a generation for overlays) so that recovery can find
 * a disk's nodes again after a crash without any stored state.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';

/** Block node names for one layer of one disk. */
export interface DiskNodeNames {
  /** The protocol (`file`) node. */
  file: string;
  /** The format (qcow2/raw) node the device or the next overlay attaches to. */
  format: string;
}

// QEMU node names and ids: a letter first, then letters, digits, '-', '.', '_'; < 32 chars.
const TARGET_PATTERN = /^[a-z][a-z0-9]{1,15}$/;
const OVERLAY_NODE = /^drive-([a-z][a-z0-9]*)-g([0-9]+)-(?:fmt|file)$/;

/** Throws unless `target` can be used inside QEMU node names and ids. */
export function checkDiskTarget(target: string): void {
  if (!TARGET_PATTERN.test(target)) {
    throw virError(VirErrorCode.CONFIG_UNSUPPORTED, VirErrorDomain.QEMU, `disk target '${target}' cannot be used as a QEMU node name`);
  }
}

/**
 * Node names of a disk layer: generation 0 is the image the domain was started with
 * (`drive-vda-file`/`drive-vda-fmt`), generation N the N-th live overlay (`drive-vda-g3-fmt`).
 */
export function diskNodeNames(target: string, generation = 0): DiskNodeNames {
  checkDiskTarget(target);
  if (!Number.isSafeInteger(generation) || generation < 0) throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.QEMU, `bad overlay generation ${generation}`);
  const stem = generation === 0 ? `drive-${target}` : `drive-${target}-g${generation}`;
  return { file: `${stem}-file`, format: `${stem}-fmt` };
}

/** The overlay generation encoded in a node name of `target`, or undefined for other nodes. */
export function overlayGenerationOf(nodeName: string, target: string): number | undefined {
  const m = OVERLAY_NODE.exec(nodeName);
  if (!m || m[1] !== target) return undefined;
  return Number(m[2]);
}

/** The `-device … id=` of a disk: also its QOM path under /machine/peripheral. */
export function diskDeviceId(target: string): string {
  checkDiskTarget(target);
  return `disk-${target}`;
}

/**
 * The disk target behind a query-block `qdev` path, e.g.
 * `/machine/peripheral/disk-vda/virtio-backend` or `/machine/peripheral/disk-sda` → vda/sda.
 */
export function targetFromQdev(qdev: string): string | undefined {
  const m = /^\/machine\/peripheral\/disk-([a-z][a-z0-9]*)(?:\/[^/]+)?$/.exec(qdev);
  return m ? m[1] : undefined;
}

/**
 * The disk's index from its target name, as libvirt's virDiskNameToIndex: the letters
 * after the bus prefix in base 26 (vda → 0, vdz → 25, vdaa → 26).
 */
export function diskIndexFromTarget(target: string): number {
  const m = /^(?:vd|sd|hd|xvd|ubd|fd|nvme)([a-z]+)$/.exec(target);
  if (!m) throw virError(VirErrorCode.CONFIG_UNSUPPORTED, VirErrorDomain.QEMU, `cannot derive a disk index from target '${target}'`);
  let index = 0;
  for (const ch of m[1]!) index = index * 26 + (ch.charCodeAt(0) - 96);
  return index - 1;
}
