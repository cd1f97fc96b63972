/**
 * A live delete's merges come before its commit point and can be taken back: an abort
 * (domjobabort from another process: snapvirt's CLI, or real virsh through snapvirtd), a
 * failure on the second disk, and a kill of snapvirt (also onto a raw base)
 * while QEMU runs all leave the world as it was: the snapshot listed, the same chains and
 * block nodes, every base reading as the snapshot froze it (its overwritten clusters
 * written back from the undo image), no temporary file, and the guest's writes kept, also
 * those made between the kill and the recovery. A kill that takes QEMU along is rolled forward offline instead. The
 * same holds on a chain QEMU opened from image headers (the domain started on an overlay),
 * whose layers the merge first makes reopenable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { SnapshotCreateFlags as C } from '../../../../../src/api/flags.js';
import { terminateQemuIn } from '../../../../../src/drivers/qemu/domain/qemu-process.js';
import { runtimeDirFor } from '../../../../../src/drivers/qemu/domain/active-runtime.js';
import { hasPattern } from '../../../../helpers/qemu-io.js';
import { runChildOp } from '../../../../helpers/run-child-op.js';
import { runCommand, snapvirtCommand } from '../../../../helpers/run-command.js';
import { startChildOpStoppedAt } from '../../../../helpers/stoppable-child-op.js';
import { startSnapvirtd } from '../../../../helpers/snapvirtd.js';
import { guestWriteVia, makeRunningEnv, nodeNames, queryBlock, type RunningEnv } from '../../support/active-env.js';

const K64 = 64 * 1024;
const snapXml = (name: string): string => `<domainsnapshot><name>${name}</name></domainsnapshot>`;

/** Writes pattern `p + i` at slot `slot` (64 KiB each) of every disk. */
async function writeAll(r: RunningEnv, p: number, slot: number): Promise<void> {
  for (const [i, d] of r.disks.entries()) await guestWriteVia(r.dom, d.target, p + i, slot * K64, '64k');
}

/** True when every disk's chain from `file(i)` reads the patterns given for their slots. */
async function allData(r: RunningEnv, file: (i: number) => string, slots: [number, number][]): Promise<boolean> {
  for (let i = 0; i < r.disks.length; i++) {
    for (const [slot, p] of slots) {
      if (!await hasPattern(file(i), 'qcow2', p + i, slot * K64, K64)) return false;
    }
  }
  return true;
}

/**
 * What an undone delete must leave as it found it. A backing layer QEMU opened from a
 * header (`#blockN`) comes back as one snapvirt named (`drive-vda-c1-…`): the same file,
 * format and mode under another name, which is all a merge can do (such nodes cannot be
 * reopened, nor made again).
 */
async function world(r: RunningEnv): Promise<unknown> {
  const layerName = (n: string): string => (/^#block\d+$|^drive-[a-z0-9]+-c\d+-(fmt|file)$/.test(n) ? 'backing layer' : n);
  return {
    files: (await readdir(r.env.imageDir)).sort(),
    blocks: await queryBlock(r.dom),
    nodes: (await nodeNames(r.dom)).map(layerName).sort(),
    snapshots: await r.dom.snapshotListNames(),
  };
}

/** Copies of every base as the snapshot froze it. */
async function keepBases(r: RunningEnv): Promise<string[]> {
  const copies: string[] = [];
  for (const d of r.disks) {
    const copy = `${d.path}.frozen`;
    await copyFile(d.path, copy);
    copies.push(copy);
  }
  return copies;
}

/** Whether every base still reads exactly as its frozen copy (qemu-img compare, QEMU may hold it). */
async function basesUnchanged(r: RunningEnv, copies: string[]): Promise<boolean> {
  for (const [i, d] of r.disks.entries()) {
    const res = await runCommand('qemu-img', ['compare', '-U', '-f', d.format, '-F', d.format, copies[i]!, d.path]);
    if (res.code !== 0) return false;
  }
  return true;
}

const overlayOf = (r: RunningEnv, i: number): string => r.disks[i]!.path.replace(/\.qcow2$/, '.s1');

/** A running 2-disk domain with snapshot s1 (taken live, or before it started), data on both sides. */
async function withSnapshot(started: 'live' | 'offline'): Promise<{ r: RunningEnv; copies: string[] }> {
  const r = await makeRunningEnv(2);
  if (started === 'live') {
    await r.dom.create();
    await writeAll(r, 0x10, 0);
    await r.dom.snapshotCreateXML(snapXml('s1'), C.DISK_ONLY);
  } else {
    // Shut off: the overlay is made with qemu-img, and QEMU then opens the base from its header.
    await r.dom.snapshotCreateXML(snapXml('s1'), C.DISK_ONLY);
    await r.dom.create();
  }
  await writeAll(r, 0x20, 1);
  // The base is not written from here on: a copy is what it must still read after an undo.
  const copies = await keepBases(r);
  return { r, copies };
}

/** A directory listing without the frozen copies. */
const listing = (files: string[]): string[] => files.filter((f) => !f.endsWith('.frozen'));

/** Runs `domjobabort vm` through snapvirt's CLI, or through real virsh and snapvirtd. */
async function aborter(r: RunningEnv, via: 'CLI' | 'virsh'): Promise<(cmd: string) => Promise<{ code: number | null; stderr: string }>> {
  if (via === 'CLI') return (cmd) => snapvirtCommand(['-c', 'qemu:///session', cmd], { SNAPVIRT_STATE_DIR: r.env.stateDir });
  const daemon = await startSnapvirtd(join(r.env.imageDir, '..'), { SNAPVIRT_STATE_DIR: r.env.stateDir });
  const uri = `qemu+unix:///session?socket=${daemon.socket}`;
  return async (cmd) => {
    try {
      return await runCommand('virsh', ['-c', uri, cmd]);
    } finally {
      await daemon.stop();
    }
  };
}

for (const [started, via] of [['live', 'CLI'], ['offline', 'virsh']] as const) {
  test(`an abort of a live delete midway (${via === 'CLI' ? 'snapvirt\'s CLI' : 'real virsh through snapvirtd'}) takes every merge back (snapshot taken ${started})`, async (t) => {
    const { r, copies } = await withSnapshot(started);
    t.after(() => r.cleanup());
    const { dom, env } = r;
    const before = await world(r);
    const cli = await aborter(r, via);

    // Stopped once the first disk's merge has copied everything: the base holds the overlay's data.
    const child = await startChildOpStoppedAt(env.stateDir, 'live-delete.merge.staged', ['delete', 'vm', 's1', '0']);
    try {
      const abort = cli('domjobabort vm');
      for (let i = 0; i < 600 && !existsSync(join(env.stateDir, 'locks', `${dom.getUUIDString()}.job-abort`)); i++) await sleep(10);
      const ended = await child.resume();
      assert.notEqual(ended.code, 0);
      assert.match(ended.stderr, /operation aborted: job 'snapshot delete' canceled by client/);
      const aborted = await abort;
      assert.equal(aborted.code, 0, aborted.stderr);
    } finally {
      try { process.kill(child.pid, 'SIGCONT'); } catch { /* it has ended */ }
    }
    const after = (await world(r)) as { files: string[] };
    assert.deepEqual({ ...after, files: listing(after.files) }, { ...(before as object), files: listing((before as { files: string[] }).files) });
    assert.ok(await basesUnchanged(r, copies), 'every base reads as s1 froze it');
    assert.deepEqual(listing(await readdir(r.env.imageDir)).filter((f) => f.includes('.merge-')), []);
    await dom.destroy();
    assert.ok(await allData(r, (i) => overlayOf(r, i), [[1, 0x20]]), 'the writes after the snapshot are kept');
    // And the delete can be run again, to its end.
    await dom.create();
    await (await dom.snapshotLookupByName('s1')).delete();
    await dom.destroy();
    assert.deepEqual(await dom.snapshotListNames(), []);
    assert.ok(await allData(r, (i) => r.disks[i]!.path, [[1, 0x20]]));
  });
}

test('a live delete that fails on its second disk takes the first disk\'s merge back', async (t) => {
  const { r, copies } = await withSnapshot('live');
  t.after(() => r.cleanup());
  const before = await world(r);
  const child = await runChildOp(r.env.stateDir, 'live-merge.job.started=error@2', ['delete', 'vm', 's1', '0']);
  assert.notEqual(child.code, 0);
  assert.match(child.stderr, /failpoint live-merge\.job\.started/);
  const after = (await world(r)) as { files: string[] };
  assert.deepEqual({ ...after, files: listing(after.files) }, { ...(before as object), files: listing((before as { files: string[] }).files) });
  assert.ok(await basesUnchanged(r, copies));
});

for (const qemuDies of [false, true]) {
  test(`snapvirt killed while a live delete merges: ${qemuDies ? 'QEMU gone too, the delete is rolled forward offline' : 'QEMU runs on, the merges are taken back'}`, async (t) => {
    const { r, copies } = await withSnapshot('live');
    t.after(() => r.cleanup());
    const { dom, env } = r;
    const before = await world(r);
    const child = await runChildOp(env.stateDir, 'live-delete.merge.staged=crash@2', ['delete', 'vm', 's1', '0']);
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    await writeAll(r, 0x40, 3);
    if (qemuDies) await terminateQemuIn(runtimeDirFor(env.stateDir, dom.getUUIDString()), 5000);
    const conn = await env.reopen();
    const again = await conn.domainLookupByName('vm');
    if (qemuDies) {
      assert.deepEqual(await again.snapshotListNames(), []);
      assert.equal(await again.isActive(), false);
      assert.deepEqual(listing(await readdir(env.imageDir)), ['vm-0.qcow2', 'vm-1.qcow2']);
      assert.ok(await allData(r, (i) => r.disks[i]!.path, [[0, 0x10], [1, 0x20], [3, 0x40]]));
      return;
    }
    const after = (await world({ ...r, dom: again })) as { files: string[] };
    assert.deepEqual({ ...after, files: listing(after.files) }, { ...(before as object), files: listing((before as { files: string[] }).files) });
    assert.ok(await basesUnchanged(r, copies));
    await again.destroy();
    assert.ok(await allData(r, (i) => overlayOf(r, i), [[1, 0x20], [3, 0x40]]));
  });
}

test('a live delete onto a raw base: taken back byte for byte after a kill, then done', async (t) => {
  const r = await makeRunningEnv(1, 'vm', 'raw');
  t.after(() => r.cleanup());
  const { dom, env, disks } = r;
  await dom.create();
  await guestWriteVia(dom, 'vda', 0x10, 0, '64k');
  await dom.snapshotCreateXML(snapXml('s1'), C.DISK_ONLY);
  await guestWriteVia(dom, 'vda', 0x20, K64, '64k');
  const copies = await keepBases(r);
  const child = await runChildOp(env.stateDir, 'live-delete.merge.staged=crash', ['delete', 'vm', 's1', '0']);
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const conn = await env.reopen();
  const again = await conn.domainLookupByName('vm');
  assert.deepEqual(await again.snapshotListNames(), ['s1']);
  assert.ok(await basesUnchanged(r, copies), 'the raw base reads as s1 froze it');
  assert.deepEqual(listing(await readdir(env.imageDir)).filter((f) => f.includes('.merge-')), []);
  await (await again.snapshotLookupByName('s1')).delete();
  assert.deepEqual((await queryBlock(again)).map((b) => [b.file, b.depth]), [[disks[0]!.path, 0]]);
  await again.destroy();
  assert.ok(await hasPattern(disks[0]!.path, 'raw', 0x10, 0, K64) && await hasPattern(disks[0]!.path, 'raw', 0x20, K64, K64));
});

/** QEMU's run status of the domain, read through its monitor. */
async function qemuStatus(r: RunningEnv, dom = r.dom): Promise<string> {
  const reply = JSON.parse(await dom.qemuMonitorCommand('{"execute":"query-status"}')) as { return: { status: string } };
  return reply.return.status;
}

for (const qemuDies of [false, true]) {
  test(`a kill once a temporary top is pivoted away leaves the guest stopped until recovery${qemuDies ? '; with QEMU killed too, the next open merges it again' : ', which resumes it'}`, async (t) => {
    const { r } = await withSnapshot('live');
    t.after(() => r.cleanup());
    const { dom, env } = r;
    const child = await runChildOp(env.stateDir, 'live-delete.temp.pivoted=crash', ['delete', 'vm', 's1', '0']);
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    // Until the temporary top's file is gone, nothing newer than it may be written below it.
    assert.equal(await qemuStatus(r), 'paused');
    if (qemuDies) await terminateQemuIn(runtimeDirFor(env.stateDir, dom.getUUIDString()), 0);
    const conn = await env.reopen();
    const again = await conn.domainLookupByName('vm');
    assert.deepEqual(await again.snapshotListNames(), []);
    assert.deepEqual(listing(await readdir(env.imageDir)), ['vm-0.qcow2', 'vm-1.qcow2']);
    if (!qemuDies) {
      assert.equal(await qemuStatus(r, again), 'running');
      await again.destroy();
    }
    assert.ok(await allData(r, (i) => r.disks[i]!.path, [[0, 0x10], [1, 0x20]]));
  });
}

test('QEMU killed once a merge is finalized, before the base is flushed: the next open merges the overlay again, nothing lost', async (t) => {
  const { r } = await withSnapshot('live');
  t.after(() => r.cleanup());
  const { dom, env } = r;
  const child = await runChildOp(env.stateDir, 'live-delete.merge.finalized=crash', ['delete', 'vm', 's1', '0']);
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  // SIGKILL: whatever QEMU held in memory (the base's new cluster mappings) is lost with it.
  await terminateQemuIn(runtimeDirFor(env.stateDir, dom.getUUIDString()), 0);
  const conn = await env.reopen();
  const again = await conn.domainLookupByName('vm');
  assert.deepEqual(await again.snapshotListNames(), []);
  assert.deepEqual(listing(await readdir(env.imageDir)), ['vm-0.qcow2', 'vm-1.qcow2']);
  assert.ok(await allData(r, (i) => r.disks[i]!.path, [[0, 0x10], [1, 0x20]]));
});

test('a kill while a base is being restored (its node added, not linked in) is taken up by recovery: the base reads as before', async (t) => {
  const { r, copies } = await withSnapshot('live');
  t.after(() => r.cleanup());
  const before = await world(r);
  const child = await runChildOp(r.env.stateDir, 'live-delete.commit.before=error,live-delete.restore.added=crash', ['delete', 'vm', 's1', '0']);
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const conn = await r.env.reopen();
  const again = await conn.domainLookupByName('vm');
  const after = (await world({ ...r, dom: again })) as { files: string[] };
  assert.deepEqual({ ...after, files: listing(after.files) }, { ...(before as object), files: listing((before as { files: string[] }).files) });
  assert.ok(await basesUnchanged(r, copies));
  assert.equal(await qemuStatus(r, again), 'running');
});
