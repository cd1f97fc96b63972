/**
 * The disk-mode matrix of libvirt's virDomainSnapshotAlignDisks: what the domain declares for
 * a disk (`<disk snapshot=…>`, or read-only) × how a snapshot lists it (not at all, without a
 * mode, or with each mode) × the operation (which decides the default mode). The differential
 * suite runs it through virsh on test:///default; the qemu tests run it on real images.
 */

/** How the domain declares disk vda. */
export interface DeclaredMode {
  readonly label: string;
  /** Attributes inside `<disk …>` after type and device. */
  readonly attr: string;
  /** Extra children after `<target>`. */
  readonly extra: string;
}

export const DECLARED_MODES: readonly DeclaredMode[] = [
  { label: 'undeclared', attr: '', extra: '' },
  { label: "snapshot='no'", attr: " snapshot='no'", extra: '' },
  { label: "snapshot='internal'", attr: " snapshot='internal'", extra: '' },
  { label: "snapshot='external'", attr: " snapshot='external'", extra: '' },
  { label: 'read-only', attr: '', extra: '\n      <readonly/>' },
  { label: "read-only snapshot='no'", attr: " snapshot='no'", extra: '\n      <readonly/>' },
];

/** How a snapshot lists disk vda; `name` is the snapshot's name. */
export interface ListedMode {
  readonly label: string;
  readonly disks: (dir: string, name: string) => string;
}

export const LISTED_MODES: readonly ListedMode[] = [
  { label: 'unlisted', disks: () => '' },
  { label: 'listed without mode', disks: () => "<disks><disk name='vda'/></disks>" },
  { label: 'listed no', disks: () => "<disks><disk name='vda' snapshot='no'/></disks>" },
  { label: 'listed internal', disks: () => "<disks><disk name='vda' snapshot='internal'/></disks>" },
  { label: 'listed external', disks: () => "<disks><disk name='vda' snapshot='external'/></disks>" },
  {
    label: 'listed external with file',
    disks: (dir, name) => `<disks><disk name='vda' snapshot='external'><source file='${dir}/${name}-vda.ovl'/></disk></disks>`,
  },
];

/** A two-disk domain: vda declared as `declared`, vdb plain; both file images in `dir`. */
export function matrixDomainXml(opts: {
  type: string; name: string; uuid: string; dir: string; declared: DeclaredMode; format?: string; emulator?: string;
}): string {
  const driver = opts.format ? `\n      <driver name='qemu' type='${opts.format}'/>` : '';
  const ext = opts.format ? 'qcow2' : 'img';
  const emulator = opts.emulator ? `\n    <emulator>${opts.emulator}</emulator>` : '';
  return `<domain type='${opts.type}'>
  <name>${opts.name}</name>
  <uuid>${opts.uuid}</uuid>
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
  </os>
  <devices>${emulator}
    <disk type='file' device='disk'${opts.declared.attr}>${driver}
      <source file='${opts.dir}/a.${ext}'/>
      <target dev='vda' bus='virtio'/>${opts.declared.extra}
    </disk>
    <disk type='file' device='disk'>${driver}
      <source file='${opts.dir}/b.${ext}'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
  </devices>
</domain>
`;
}

/** A `<domainsnapshot>` naming `name`, listing vda as `listed`, with optional extra children. */
export function matrixSnapshotXml(name: string, listed: ListedMode, dir: string, extra = ''): string {
  return `<domainsnapshot>\n  <name>${name}</name>${extra}\n  ${listed.disks(dir, name)}\n</domainsnapshot>\n`;
}
