/**
 * Helpers for driving snapvirt's qemu:///session driver from the bench: a private state
 * directory per case, small qcow2 disks, a domain definition with N disks, and the
 * matching XML for libvirt's qemu driver.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, runTimed, type TimedRun } from './run-timed.js';
import { summarize, type Summary } from './stats.js';

/** Target name of disk `i` (vda, vdb, …, vdz, vdaa, …). */
export function diskTarget(i: number): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  return i < 26 ? `vd${letters[i]}` : `vd${letters[Math.floor(i / 26) - 1]}${letters[i % 26]}`;
}

/** Creates `count` empty qcow2 images of `sizeMiB` in `dir` (in parallel); returns their paths. */
export async function createDisks(dir: string, prefix: string, count: number, sizeMiB = 64): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths = Array.from({ length: count }, (_, i) => join(dir, `${prefix}-${i}.qcow2`));
  await Promise.all(paths.map((p) => run('qemu-img', ['create', '-q', '-f', 'qcow2', p, `${sizeMiB}M`])));
  return paths;
}

/** The `<domain>` XML of a shut-off TCG machine whose disks are `disks` (virtio, qcow2). */
export function domainXml(name: string, disks: readonly string[]): string {
  const diskXml = disks.map((path, i) => `    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${path}'/>
      <target dev='${diskTarget(i)}' bus='virtio'/>
    </disk>`).join('\n');
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
${diskXml}
  </devices>
</domain>
`;
}

/** A snapvirt qemu:///session with its own state directory. */
export class SnapvirtSession {
  readonly env: NodeJS.ProcessEnv;

  constructor(readonly snapvirtBin: string, readonly stateDir: string) {
    this.env = { ...process.env, SNAPVIRT_STATE_DIR: stateDir, LC_ALL: 'C' };
  }

  /**
   * Times `runs` snapshot creations on `domain` through the library in one warm process
   * (bench/library-create-script.ts), after one untimed creation.
   */
  async libraryCreates(domain: string, flags: number, prefix: string, runs: number): Promise<Summary> {
    const script = fileURLToPath(new URL('./library-create-script.js', import.meta.url));
    const r = await runTimed(process.execPath, [script, domain, String(flags), prefix, String(runs)], { env: this.env, timeoutMs: 120_000 });
    return summarize(JSON.parse(r.stdout) as number[]);
  }

  /** Runs one snapvirt command line (a `;`-separated batch is allowed) and times it. */
  cmd(command: string, timeoutMs?: number, discardStdout = false): Promise<TimedRun> {
    return runTimed(process.execPath, [this.snapvirtBin, '-c', 'qemu:///session', command], { env: this.env, timeoutMs, discardStdout });
  }

  /** Defines `name` with `disks` (XML written next to the state directory). */
  async define(name: string, disks: readonly string[]): Promise<void> {
    await mkdir(this.stateDir, { recursive: true });
    const xmlPath = join(this.stateDir, `${name}.domain.xml`);
    await writeFile(xmlPath, domainXml(name, disks));
    await this.cmd(`define ${xmlPath}`);
  }
}
