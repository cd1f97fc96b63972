/**
 * A shut-off QEMU domain for tests: qcow2/raw images in a temp dir and the `<domain>` XML
 * that uses them as virtio disks vda, vdb, …
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One disk of a fixture domain. */
export interface FixtureDisk {
  target: string;
  path: string;
  format: 'qcow2' | 'raw';
  /** Optional domain-level `<disk snapshot=…>` default. */
  snapshot?: 'no' | 'internal' | 'external';
  readonly?: boolean;
  device?: 'disk' | 'cdrom';
}

/** Creates `count` empty images named `<name>-<i>.<format>` in `dir` (1 MiB each by default). */
export async function makeImages(dir: string, name: string, formats: Array<'qcow2' | 'raw'>, sizeBytes = 1 << 20): Promise<FixtureDisk[]> {
  const disks: FixtureDisk[] = [];
  for (let i = 0; i < formats.length; i++) {
    const format = formats[i]!;
    const path = join(dir, `${name}-${i}.${format}`);
    await run('qemu-img', ['create', '-q', '-f', format, path, String(sizeBytes)]);
    disks.push({ target: `vd${String.fromCharCode(97 + i)}`, path, format });
  }
  return disks;
}

/** Escapes text for an XML attribute or element. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

/** The `<domain type='qemu'>` XML of a small pc machine with `disks`. */
export function domainXml(name: string, disks: FixtureDisk[], uuid?: string): string {
  const diskXml = disks.map((d) => {
    const snap = d.snapshot ? ` snapshot='${d.snapshot}'` : '';
    const ro = d.readonly ? '\n      <readonly/>' : '';
    return `    <disk type='file' device='${d.device ?? 'disk'}'${snap}>
      <driver name='qemu' type='${d.format}'/>
      <source file='${esc(d.path)}'/>
      <target dev='${d.target}' bus='virtio'/>${ro}
    </disk>`;
  }).join('\n');
  return `<domain type='qemu'>
  <name>${esc(name)}</name>
${uuid ? `  <uuid>${uuid}</uuid>\n` : ''}  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
  </os>
  <devices>
${diskXml}
  </devices>
</domain>
`;
}

/** The `<source file=…>` paths in `xml`, in document order (a domain, or a snapshot's embedded domain). */
export function diskSourcesIn(xml: string): string[] {
  return [...xml.matchAll(/<source file='([^']+)'/g)].map((m) => m[1]!);
}
