/**
 * Shared fixtures for the live QEMU tests: private temp dirs, qcow2 disks, a DomainDef
 * with N virtio disks, a TCG QEMU that is always killed in teardown, guest-like writes
 * through HMP qemu-io, and offline pattern checks with qemu-io.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DomainDef, DomainDiskDef } from '../../../../src/conf/domain-types.js';
import { QemuProcess } from '../../../../src/drivers/qemu/domain/qemu-process.js';
import type { QmpClient } from '../../../../src/drivers/qemu/qmp/qmp-client.js';

const run = promisify(execFile);

/** A fresh 0700 temp directory. */
export async function makeTempDir(prefix = 'snapvirt-live-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Removes a temp directory tree. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Creates an empty qcow2 image of `sizeMiB`. */
export async function createQcow2(path: string, sizeMiB = 16): Promise<void> {
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', path, `${sizeMiB}M`]);
}

/** Target names vda, vdb, … for `count` disks. */
export function virtioTargets(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `vd${String.fromCharCode(97 + i)}`);
}

/** A disk definition (the XML element is a placeholder: these tests never format XML). */
export function diskDef(target: string, sourcePath: string | undefined, extra: Partial<DomainDiskDef> = {}): DomainDiskDef {
  return {
    type: 'file', device: 'disk', target, bus: 'virtio', sourcePath, format: 'qcow2', readonly: false,
    element: { name: 'disk', attrs: [], children: [] }, ...extra,
  };
}

/** A minimal domain definition with the given disks. */
export function domainDef(disks: DomainDiskDef[], extra: Partial<DomainDef> = {}): DomainDef {
  return {
    type: 'qemu', name: 'live-test', uuid: '4dea22b3-1d52-d8f3-2516-782e98ab3fa0',
    memoryKiB: 65536, currentMemoryKiB: 65536, vcpus: 1, osType: 'hvm', machine: 'pc', disks,
    element: { name: 'domain', attrs: [], children: [] }, ...extra,
  };
}

/** A running test VM: its dir, disk images and process. */
export interface TestVm {
  dir: string;
  targets: string[];
  basePaths: string[];
  proc: QemuProcess;
}

/** Creates `count` qcow2 disks in a new temp dir and starts QEMU (TCG) on them. */
export async function startTestVm(count: number, opts: { paused?: boolean } = {}): Promise<TestVm> {
  const dir = await makeTempDir();
  const targets = virtioTargets(count);
  const basePaths = targets.map((t) => join(dir, `${t}.qcow2`));
  await Promise.all(basePaths.map((p) => createQcow2(p)));
  const def = domainDef(targets.map((t, i) => diskDef(t, basePaths[i])));
  const proc = await QemuProcess.start({ def, runtimeDir: join(dir, 'run'), accel: 'tcg', paused: opts.paused });
  return { dir, targets, basePaths, proc };
}

/** Kills the VM (never leaves QEMU behind) and removes its directory. */
export async function destroyTestVm(vm: TestVm | undefined): Promise<void> {
  if (!vm) return;
  vm.proc.kill();
  await vm.proc.waitForExit(5000);
  vm.proc.qmp.destroy();
  await removeTempDir(vm.dir);
}

/**
 * Writes `pattern` over the first MiB of a disk as a guest would, through HMP qemu-io on
 * the device (the node itself is write-locked by the device). qemu-io prints to QEMU's
 * stdout; the HMP reply is empty on success and carries the error otherwise.
 */
export async function guestWrite(qmp: QmpClient, target: string, pattern: number, offset = 0, length = '1M'): Promise<void> {
  const reply = await qmp.execute('human-monitor-command', {
    'command-line': `qemu-io -d /machine/peripheral/disk-${target}/virtio-backend "write -P ${pattern} ${offset} ${length}"`,
  });
  if (reply !== '') throw new Error(`HMP qemu-io failed: ${String(reply)}`);
}

/** True when the image (through its backing chain) reads `pattern` over [offset, offset+len). */
export async function imageHasPattern(path: string, pattern: number, offset = 0, length = '1M'): Promise<boolean> {
  try {
    const { stdout } = await run('qemu-io', ['-r', '-f', 'qcow2', '-c', `read -P ${pattern} ${offset} ${length}`, path]);
    return !/Pattern verification failed/.test(stdout);
  } catch {
    return false;
  }
}

/** True when the range is unallocated in this image itself (not counting its backing chain). */
export async function isUnallocatedInTop(path: string, offset = 0, length = '1M'): Promise<boolean> {
  const { stdout } = await run('qemu-io', ['-r', '-f', 'qcow2', '-c', `alloc ${offset} ${length}`, path]);
  return /^0\/\d+ bytes allocated/m.test(stdout.trim());
}

/** `qemu-img info` of one image (no chain), parsed. */
export async function imageInfo(path: string): Promise<{ backingFilename?: string; backingFormat?: string; format: string }> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', path]);
  const info: unknown = JSON.parse(stdout);
  if (typeof info !== 'object' || info === null) throw new Error('bad qemu-img info');
  const o = info as Record<string, unknown>;
  return {
    format: String(o.format),
    backingFilename: typeof o['backing-filename'] === 'string' ? o['backing-filename'] : undefined,
    backingFormat: typeof o['backing-filename-format'] === 'string' ? o['backing-filename-format'] : undefined,
  };
}

/**
 * Waits (bounded) until no process holds QEMU's lock on `paths`. A SIGKILLed QEMU's image
 * locks can outlive its exit briefly (its io_uring is torn down asynchronously by the
 * kernel), so a restart right after a kill must wait for them, as a person retrying would.
 */
export async function waitImagesUnlocked(paths: readonly string[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const path of paths) {
    for (;;) {
      try {
        // Without -U, qemu-img takes the shared lock, which a writer's lock excludes.
        await run('qemu-img', ['info', path]);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/** Sorted directory listing. */
export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}
