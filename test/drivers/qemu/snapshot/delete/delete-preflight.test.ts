/**
 * A delete checks its disk work before its commit point (issue 12, item 4), on a shut-off
 * and on a running domain, with real faults: the image directory on a read-only bind
 * mount, chattr +i on the base image or on the directory, a full file system (a small
 * tmpfs), a base image moved away. Each delete is refused through the CLI (exit 1, a
 * clear message), and the metadata and every file are byte-identical to before; once
 * the fault is gone, the same delete succeeds with every byte of data kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Domain } from '../../../../../src/api/domain.js';
import { DomainXMLFlags, SnapshotCreateFlags as C } from '../../../../../src/api/flags.js';
import { domainXml, makeImages, type FixtureDisk } from '../../../../helpers/domain-fixture.js';
import { mountReadOnlyBind, mountTmpfs, setImmutable, unmount } from '../../../../helpers/mounts.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../../helpers/qemu-connection.js';
import { hasPattern, writePattern } from '../../../../helpers/qemu-io.js';
import { fillLeaving } from '../../../../crash/fault-helpers.js';
import { guestWriteVia, killAllQemu } from '../../support/active-env.js';

const SNAPVIRT = fileURLToPath(new URL('../../../../../../bin/snapvirt', import.meta.url));
const MiB = 1 << 20;

interface World {
  env: QemuTestEnv;
  dom: Domain;
  disk: FixtureDisk;
  running: boolean;
  img(name: string): string;
}

/** A domain `vm` with one 16 MiB qcow2 disk (on a tmpfs of `tmpfsBytes` when given), started when `running`. */
async function makeWorld(t: { after(fn: () => Promise<void>): void }, running: boolean, tmpfsBytes?: number): Promise<World> {
  const env = await openQemuTestEnv();
  let mounted = false;
  t.after(async () => {
    await killAllQemu(env.stateDir);
    if (mounted) await unmount(env.imageDir);
    await env.cleanup();
  });
  if (tmpfsBytes !== undefined) {
    await mountTmpfs(env.imageDir, tmpfsBytes);
    mounted = true;
  }
  const [disk] = await makeImages(env.imageDir, 'vm', ['qcow2'], 16 * MiB);
  const dom = await env.conn.domainDefineXML(domainXml('vm', [disk!]));
  if (running) await dom.create();
  return { env, dom, disk: disk!, running, img: (name) => join(env.imageDir, name) };
}

/** Writes `length` bytes of `pattern` at `offset` into the disk's current top, as the guest (or qemu-io offline) would. */
async function write(w: World, top: string, pattern: number, offset: number, length: number): Promise<void> {
  if (w.running) await guestWriteVia(w.dom, 'vda', pattern, offset, String(length));
  else await writePattern(top, 'qcow2', pattern, offset, length);
}

/** Runs the snapvirt CLI on the world's state dir. */
function cli(w: World, args: string[], failpoints = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [SNAPVIRT, '-c', 'qemu:///session', ...args], {
      env: { ...process.env, SNAPVIRT_STATE_DIR: w.env.stateDir, SNAPVIRT_FAILPOINTS: failpoints, SNAPVIRT_QEMU_ACCEL: 'tcg' },
    }, (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout: String(stdout), stderr: String(stderr) }));
  });
}

/** Every file's name, mode and bytes (in the image dir and `extra`), and every piece of metadata: compared before and after. */
async function picture(w: World, extra: string[] = []): Promise<string> {
  const files: string[] = [];
  const names = (await readdir(w.env.imageDir)).sort().map((n) => join(w.env.imageDir, n));
  for (const path of [...names, ...extra]) {
    const st = await stat(path);
    files.push(`${path} ${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(await readFile(path)).digest('hex')}`);
  }
  const dom = await w.env.conn.domainLookupByName('vm');
  const snapshots: string[] = [];
  for (const s of await dom.listAllSnapshots()) snapshots.push(await s.getXMLDesc());
  const current = await dom.hasCurrentSnapshot() ? (await dom.snapshotCurrent()).getName() : '';
  return JSON.stringify({
    files, current, snapshots: snapshots.sort(),
    xml: await dom.getXMLDesc(), inactive: await dom.getXMLDesc(DomainXMLFlags.INACTIVE),
  }, null, 1);
}

/**
 * Runs `snapshot-delete vm <snap>` under `fault` (set up, then taken away): refused, exit
 * 1, `message` in the error, nothing changed, no problem for snapshot-check; then,
 * without the fault, the delete succeeds.
 */
async function refusedUnder(
  w: World, snap: string, message: RegExp, fault: { on(): Promise<void>; off(): Promise<void>; extra?: string[] },
): Promise<void> {
  await fault.on();
  let res;
  let before = '';
  let after = '';
  try {
    before = await picture(w, fault.extra);
    res = await cli(w, ['snapshot-delete', 'vm', snap]);
    after = await picture(w, fault.extra);
  } finally {
    await fault.off();
  }
  assert.equal(res.code, 1, `the delete was not refused: ${res.stdout}${res.stderr}`);
  assert.match(res.stderr, /^error: Failed to delete snapshot /m, res.stderr);
  assert.match(res.stderr, message, res.stderr);
  assert.doesNotMatch(res.stdout, /deleted/, res.stdout);
  assert.equal(after, before, 'the refused delete changed something');
  const report = await w.dom.checkSnapshots();
  assert.deepEqual(report.findings, [], 'snapshot-check finds a problem after the refused delete');
  const again = await cli(w, ['snapshot-delete', 'vm', snap]);
  assert.equal(again.code, 0, `without the fault the delete fails: ${again.stderr}`);
  assert.match(again.stdout, new RegExp(`Domain snapshot ${snap} deleted`));
  assert.equal(again.stderr, '', 'the delete without the fault warned');
}

for (const running of [false, true]) {
  const where = running ? 'running' : 'shut off';

  test(`${where}: the image directory on a read-only bind mount refuses the delete up front`, async (t) => {
    const w = await makeWorld(t, running);
    await write(w, w.disk.path, 0x11, 0, MiB);
    await w.dom.snapshotCreateXML('<domainsnapshot><name>e0</name></domainsnapshot>', C.DISK_ONLY);
    await write(w, w.img('vm-0.e0'), 0x22, MiB, MiB);
    await refusedUnder(w, 'e0', /Read-only file system/, {
      on: () => mountReadOnlyBind(w.env.imageDir, w.env.imageDir),
      off: () => unmount(w.env.imageDir),
    });
    if (running) await w.dom.destroy();
    assert.ok(await hasPattern(w.disk.path, 'qcow2', 0x11, 0, MiB) && await hasPattern(w.disk.path, 'qcow2', 0x22, MiB, MiB));
  });

  test(`${where}: chattr +i on the base image refuses the delete up front`, async (t) => {
    const w = await makeWorld(t, running);
    await w.dom.snapshotCreateXML('<domainsnapshot><name>e0</name></domainsnapshot>', C.DISK_ONLY);
    await write(w, w.img('vm-0.e0'), 0x23, 0, MiB);
    await refusedUnder(w, 'e0', /unable to open '.*vm-0\.qcow2' for writing: Operation not permitted/, {
      on: () => setImmutable(w.disk.path, true),
      off: () => setImmutable(w.disk.path, false),
    });
    if (running) await w.dom.destroy();
    assert.ok(await hasPattern(w.disk.path, 'qcow2', 0x23, 0, MiB));
  });

  test(`${where}: a full file system refuses a merge that needs more room than is free`, async (t) => {
    const w = await makeWorld(t, running, 48 * MiB);
    await w.dom.snapshotCreateXML('<domainsnapshot><name>e0</name></domainsnapshot>', C.DISK_ONLY);
    await write(w, w.img('vm-0.e0'), 0x24, 0, 4 * MiB);
    const filler = w.img('filler');
    await refusedUnder(w, 'e0', /cannot delete snapshot 'e0': No space left on device: merging its disks needs up to \d+ KiB free .* \d+ KiB are free/, {
      on: () => fillLeaving(w.env.imageDir, MiB),
      off: () => rm(filler),
    });
    if (running) await w.dom.destroy();
    assert.ok(await hasPattern(w.disk.path, 'qcow2', 0x24, 0, 4 * MiB));
  });

  test(`${where}: the merge's base image moved away refuses the delete up front`, async (t) => {
    const w = await makeWorld(t, running);
    await write(w, w.disk.path, 0x15, 0, MiB);
    await w.dom.snapshotCreateXML('<domainsnapshot><name>e0</name></domainsnapshot>', C.DISK_ONLY);
    await write(w, w.img('vm-0.e0'), 0x25, MiB, MiB);
    const aside = join(w.env.tmp.path, 'vm-0.qcow2.moved');
    await refusedUnder(w, 'e0', /Cannot access backing file '.*vm-0\.qcow2' of storage file '.*vm-0\.e0' \(as uid:\d+, gid:\d+\): No such file or directory/, {
      on: () => rename(w.disk.path, aside),
      off: () => rename(aside, w.disk.path),
      extra: [aside],
    });
    if (running) await w.dom.destroy();
    assert.ok(await hasPattern(w.disk.path, 'qcow2', 0x15, 0, MiB) && await hasPattern(w.disk.path, 'qcow2', 0x25, MiB, MiB));
  });
}

test('shut off: chattr +i on the directory (the merged overlay cannot be removed) refuses the delete up front', async (t) => {
  const w = await makeWorld(t, false);
  await w.dom.snapshotCreateXML('<domainsnapshot><name>e0</name></domainsnapshot>', C.DISK_ONLY);
  await write(w, w.img('vm-0.e0'), 0x26, 0, MiB);
  await refusedUnder(w, 'e0', /cannot remove '.*vm-0\.e0': directory '.*' has the immutable attribute/, {
    on: () => setImmutable(w.env.imageDir, true),
    off: () => setImmutable(w.env.imageDir, false),
  });
  assert.ok(await hasPattern(w.disk.path, 'qcow2', 0x26, 0, MiB));
});

test('shut off: an image further down the chain moved away (qemu-img commit opens the whole chain) refuses the delete up front', async (t) => {
  const w = await makeWorld(t, false);
  await writePattern(w.disk.path, 'qcow2', 0x17, 0, MiB);
  await w.dom.snapshotCreateXML('<domainsnapshot><name>e0</name></domainsnapshot>', C.DISK_ONLY);
  await writePattern(w.img('vm-0.e0'), 'qcow2', 0x27, MiB, MiB);
  await w.dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
  await writePattern(w.img('vm-0.e1'), 'qcow2', 0x37, 2 * MiB, MiB);
  const aside = join(w.env.tmp.path, 'vm-0.qcow2.moved');
  // Deleting e1 merges vm-0.e1 into vm-0.e0, whose own backing is the moved image.
  await refusedUnder(w, 'e1', /Cannot access backing file '.*vm-0\.qcow2' of storage file '.*vm-0\.e0' \(as uid:\d+, gid:\d+\): No such file or directory/, {
    on: () => rename(w.disk.path, aside),
    off: () => rename(aside, w.disk.path),
    extra: [aside],
  });
  const top = w.img('vm-0.e0');
  for (const [p, off] of [[0x17, 0], [0x27, MiB], [0x37, 2 * MiB]] as const) assert.ok(await hasPattern(top, 'qcow2', p, off, MiB));
});
