/**
 * A disk's backing chain as objects: the images a disk reads, top (the one it writes)
 * first, each with its format. Domain.getDefinition() sets it on every disk, so nobody
 * runs `qemu-img info --backing-chain` or reads `<backingStore>` for ordinary questions.
 */

/** An image format, as `<driver type=…>` and qcow2 headers name it (qcow2, raw, qed, vmdk, …). */
export type DiskImageFormat = 'qcow2' | 'raw' | 'qed' | 'vmdk' | 'vpc' | 'vdi' | 'luks' | (string & {});

/** One image of a backing chain. */
export interface DiskChainLayer {
  /** The image's path (absolute, as the layer above names it; a `json:` name verbatim). */
  path: string;
  /**
   * The format the layer above records for it (for the top, the definition's
   * `<driver type=…>`; raw when it declares none). Null when the layer above records no
   * format: snapvirt never guesses a format from content, so this file was not read and
   * the chain ends here (QEMU ≥ 6 and libvirt refuse such a chain too).
   */
  format: DiskImageFormat | null;
}

/**
 * Where a disk's chain was read: 'qemu' from the running QEMU (query-block: what it has
 * open now), 'images' from the image headers on disk (only images whose format is known
 * are read: a raw disk is never parsed, whatever its content), 'definition' from the
 * definition alone (a driver without image files, as the test driver: the source is the
 * only layer).
 */
export type DiskChainOrigin = 'qemu' | 'images' | 'definition';
