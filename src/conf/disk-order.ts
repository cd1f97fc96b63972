/**
 * The order libvirt keeps a domain's disks in (virDomainDiskInsert): each disk, in document
 * order, joins the group of disks on its bus, placed by its target's index (vda < vdb <
 * vdaa); a bus not seen yet starts a new group at the end. dumpxml and every snapshot's
 * `<disks>` follow this order.
 */
import type { DomainDiskDef } from './domain-types.js';

const TARGET_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['fd', 'fdc'], ['hd', 'ide'], ['vd', 'virtio'], ['xvd', 'xen'], ['sd', 'scsi'], ['ubd', 'uml'],
];

/** virDiskNameToIndex: the letters after a known prefix in base 26 (a=0, z=25, aa=26); -1 when not a disk name. */
export function diskNameIndex(target: string): number {
  const prefix = TARGET_PREFIXES.find(([p]) => target.startsWith(p))?.[0];
  if (prefix === undefined) return -1;
  let index = 0;
  let letters = 0;
  for (const ch of target.slice(prefix.length)) {
    if (ch < 'a' || ch > 'z' || letters >= 7) break;
    index = (index + (letters < 1 ? 0 : 1)) * 26 + (ch.charCodeAt(0) - 97);
    letters++;
  }
  // A name must have letters, and only digits (a partition) may follow them.
  const rest = target.slice(prefix.length + letters);
  if (letters === 0 || !/^[0-9]*$/.test(rest)) return -1;
  return index;
}

/** The bus libvirt gives a disk: its `<target bus>`, else the one its target's prefix implies. */
function busOf(disk: DomainDiskDef): string | undefined {
  return disk.bus ?? TARGET_PREFIXES.find(([p]) => disk.target.startsWith(p))?.[1];
}

/** `disks` (in document order) in libvirt's order. */
export function orderDisks(disks: readonly DomainDiskDef[]): DomainDiskDef[] {
  const ordered: DomainDiskDef[] = [];
  for (const disk of disks) {
    const bus = busOf(disk);
    const index = diskNameIndex(disk.target);
    let insertAt = -1;
    for (let i = ordered.length - 1; i >= 0; i--) {
      const other = ordered[i]!;
      if (busOf(other) !== bus) continue;
      if (diskNameIndex(other.target) > index) insertAt = i;
      else if (insertAt === -1) insertAt = i + 1;
    }
    if (insertAt === -1) ordered.push(disk);
    else ordered.splice(insertAt, 0, disk);
  }
  return ordered;
}
