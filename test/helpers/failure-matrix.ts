/**
 * The failure matrix of the offline QEMU driver, as data: a domain of N qcow2 disks whose
 * k-th disk (the 2nd or the last) lives on its own small tmpfs (the "fault dir"), a set of
 * faults that can be armed on that disk only, and a picture of everything an operation
 * must leave unchanged when it fails: dumpxml, the snapshot list and current snapshot,
 * every directory's listing, every disk's `qemu-img info --backing-chain`, and the data
 * the failing disk presents. Faults are armed and disarmed in turn in one world, so a
 * whole row of the matrix costs one set-up.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SnapshotCreateFlags as C } from '../../src/api/flags.js';
import type { Domain } from '../../src/api/domain.js';
import { chainOf, listingOf } from './disk-state.js';
import { domainXml, type FixtureDisk, diskSourcesIn } from './domain-fixture.js';
import { mountReadOnlyBind, mountTmpfs, setImmutable, unmount } from './mounts.js';
import { openQemuTestEnv, type QemuTestEnv } from './qemu-connection.js';
import { hasPattern, holdImage, writePattern } from './qemu-io.js';

const run = promisify(execFile);
const K = 65536;

/** One world: the env, the disks, which one fails, and where it lives. */
export interface MatrixWorld {
  env: QemuTestEnv;
  disks: FixtureDisk[];
  k: number;
  faultDir: string;
  /** A read-only bind mount of an empty dir (for external targets). */
  roBindDir: string;
  dom(): Promise<Domain>;
}

/**
 * Builds a domain of `n` qcow2 disks, disk `k` on a 16 MiB tmpfs. 'internal': pattern A,
 * snapshot i1, B, snapshot i2, C. 'external': A, snapshot e1 (disk-only), B in the overlays.
 */
export async function matrixWorld(n: number, k: number, kind: 'internal' | 'external'): Promise<MatrixWorld> {
  const env = await openQemuTestEnv();
  // The healthy disks live on a tmpfs too: the many fsyncs of hundreds of operations cost
  // nothing there, and no fault depends on the file system of the other disks.
  await mountTmpfs(env.imageDir, 64 << 20);
  const faultDir = join(env.tmp.path, 'fault');
  await mountTmpfs(faultDir, 16 << 20);
  const roSrc = join(env.tmp.path, 'ro-src');
  await mkdir(roSrc, { mode: 0o700 });
  const roBindDir = join(env.tmp.path, 'ro-bind');
  await mountReadOnlyBind(roSrc, roBindDir);
  const disks: FixtureDisk[] = [];
  for (let i = 0; i < n; i++) {
    disks.push({ target: `vd${String.fromCharCode(97 + i)}`, path: join(i === k ? faultDir : env.imageDir, `vm-${i}.qcow2`), format: 'qcow2' });
  }
  await Promise.all(disks.map((d) => run('qemu-img', ['create', '-q', '-f', 'qcow2', d.path, String(1 << 20)])));
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  await Promise.all(disks.map((d) => writePattern(d.path, 'qcow2', 0xa, 0, K)));
  if (kind === 'internal') {
    await dom.snapshotCreateXML('<domainsnapshot><name>i1</name></domainsnapshot>');
    await Promise.all(disks.map((d) => writePattern(d.path, 'qcow2', 0xb, 0, K)));
    await dom.snapshotCreateXML('<domainsnapshot><name>i2</name></domainsnapshot>');
    await Promise.all(disks.map((d) => writePattern(d.path, 'qcow2', 0xc, 0, K)));
  } else {
    await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
    await Promise.all(disks.map((d) => writePattern(d.path.replace(/\.qcow2$/, '.e1'), 'qcow2', 0xb, 0, K)));
  }
  return { env, disks, k, faultDir, roBindDir, dom: () => env.conn.domainLookupByName('vm') };
}

/** Everything a failed operation must leave as it was. */
export async function matrixPicture(w: MatrixWorld): Promise<unknown> {
  const dom = await w.dom();
  const xml = await dom.getXMLDesc();
  const sources = diskSourcesIn(xml);
  const current = (await dom.hasCurrentSnapshot()) ? (await dom.snapshotCurrent()).getName() : null;
  // Sizes are left out: qcow2 files never shrink, so an undone tag leaves them larger
  // with the same content; the chains (with their tags) and the data say the rest.
  const kData = await Promise.all([0xa, 0xb, 0xc].map((p) => hasPattern(sources[w.k]!, 'qcow2', p, 0, K)));
  return {
    xml,
    current,
    names: (await dom.listAllSnapshots()).map((s) => s.getName()).sort(),
    images: await listingOf(w.env.imageDir, { sizes: false }),
    fault: await listingOf(w.faultDir, { sizes: false }),
    chains: await Promise.all(sources.map((s) => chainOf(s, 'qcow2'))),
    kData,
  };
}

/** One armed fault: how to undo it. */
export type Disarm = () => Promise<void>;

/** A fault on the k-th disk, and the text its error must contain. */
export interface MatrixFault {
  name: string;
  message: RegExp;
  /** Arms the fault; `file` is the file the operation will create or change on disk k. */
  arm(w: MatrixWorld, file: string): Promise<Disarm>;
}

async function withEnv(vars: Record<string, string>): Promise<Disarm> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** A fake qemu-img that fails any changing command on the fault dir and runs the real one otherwise. */
async function fakeQemuImg(w: MatrixWorld): Promise<string> {
  const path = join(w.env.tmp.path, 'fake-qemu-img');
  const real = (await run('sh', ['-c', 'command -v qemu-img'])).stdout.trim();
  await writeFile(path, `#!/bin/sh
case "$1" in info|check) exec ${real} "$@";; esac
for a in "$@"; do case "$a" in *${w.faultDir}*) echo "fake qemu-img failure on $a" >&2; exit 1;; esac; done
exec ${real} "$@"
`, { mode: 0o700 });
  await chmod(path, 0o700);
  return path;
}

/** Fills the fault tmpfs to the last byte; the filler is removed on disarm. */
async function fill(dir: string): Promise<Disarm> {
  const filler = join(dir, '.filler');
  const h = await open(filler, 'w', 0o600);
  try {
    const chunk = Buffer.alloc(1 << 20, 1);
    for (;;) await h.write(chunk);
  } catch {
    // ENOSPC: full, as wanted. Top up the last partial page with small writes.
    const small = Buffer.alloc(512, 1);
    try { for (;;) await h.write(small); } catch { /* full */ }
  } finally {
    await h.close();
  }
  return () => rm(filler, { force: true });
}

/** Faults every operation kind can meet on disk k. */
export const COMMON_FAULTS: MatrixFault[] = [
  {
    name: 'image locked by a qemu-io holder',
    message: /lock/,
    async arm(_w, file) {
      const holder = await holdImage(file, 'qcow2');
      return () => holder.release();
    },
  },
  {
    name: 'qemu-img failing',
    message: /fake qemu-img failure/,
    async arm(w) {
      return withEnv({ SNAPVIRT_QEMU_IMG: await fakeQemuImg(w), SNAPVIRT_NATIVE_QCOW2: '0' });
    },
  },
  {
    name: 'read-only tmpfs',
    message: /Read-only file system/,
    async arm(w) {
      await run('mount', ['-o', 'remount,ro', w.faultDir]);
      return async () => { await run('mount', ['-o', 'remount,rw', w.faultDir]); };
    },
  },
  {
    name: 'out of space',
    message: /No space left on device/,
    arm: (w) => fill(w.faultDir),
  },
];

/** chattr +i on the directory (new files) or on the image (changed in place). */
export function immutableFault(on: 'dir' | 'image'): MatrixFault {
  return {
    name: `chattr +i on the ${on}`,
    message: /Operation not permitted|Permission denied/,
    async arm(w, file) {
      const target = on === 'dir' ? w.faultDir : file;
      await setImmutable(target, true);
      return () => setImmutable(target, false);
    },
  };
}

/** Unmounts what matrixWorld mounted (cleanup also does, lazily). */
export async function unmountMatrix(w: MatrixWorld): Promise<void> {
  await unmount(w.roBindDir).catch(() => undefined);
  await unmount(w.faultDir).catch(() => undefined);
  await unmount(w.env.imageDir).catch(() => undefined);
}
