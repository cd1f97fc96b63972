/**
 * Deleting external snapshots of a running domain with block-commit: active commit (the
 * snapshot's overlay is the disk's top) and intermediate commit (a later snapshot sits
 * above it), data intact at every point, metadata moved to the base; and a multi-disk
 * merge interrupted after the first disk is finished by recovery, live or, when QEMU died
 * meanwhile, offline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { SnapshotCreateFlags as C } from '../../../../../src/api/flags.js';
import { terminateQemuIn } from '../../../../../src/drivers/qemu/domain/qemu-process.js';
import { runtimeDirFor } from '../../../../../src/drivers/qemu/domain/active-runtime.js';
import { hasPattern } from '../../../../helpers/qemu-io.js';
import { runChildOp } from '../../../../helpers/run-child-op.js';
import { guestWriteVia, makeRunningEnv, nodeNames, queryBlock, type RunningEnv } from '../../support/active-env.js';

const K64 = 64 * 1024;

/** Writes pattern `p + i` at slot `slot` (64 KiB each) of every disk. */
async function writeAll(r: RunningEnv, p: number, slot: number): Promise<void> {
  for (const [i, d] of r.disks.entries()) await guestWriteVia(r.dom, d.target, p + i, slot * K64, '64k');
}

/** True when every disk's chain from `file(i)` reads the patterns written so far. */
async function allData(r: RunningEnv, file: (i: number) => string, patterns: number[]): Promise<boolean> {
  for (let i = 0; i < r.disks.length; i++) {
    for (const [slot, p] of patterns.entries()) {
      if (!await hasPattern(file(i), 'qcow2', p + i, slot * K64, K64)) return false;
    }
  }
  return true;
}

const snapXml = (name: string): string => `<domainsnapshot><name>${name}</name></domainsnapshot>`;

test('delete while running: active commit of the top snapshot, then intermediate commit below another', async (t) => {
  const r = await makeRunningEnv(2);
  t.after(() => r.cleanup());
  const { dom, disks, env } = r;
  const ov = (name: string, i: number): string => disks[i]!.path.replace(/\.qcow2$/, `.${name}`);
  await dom.create();
  await writeAll(r, 0x10, 0);
  await dom.snapshotCreateXML(snapXml('s1'), C.DISK_ONLY);
  await writeAll(r, 0x20, 1);
  const s2 = await dom.snapshotCreateXML(snapXml('s2'), C.DISK_ONLY);
  await writeAll(r, 0x30, 2);

  // Active commit: s2's overlays are the tops; they merge into s1's overlays.
  let started = performance.now();
  await s2.delete();
  t.diagnostic(`active commit of 2 disks: ${(performance.now() - started).toFixed(0)} ms`);
  assert.deepEqual(await dom.snapshotListNames(), ['s1']);
  assert.deepEqual((await queryBlock(dom)).map((b) => [b.file, b.depth]), [[ov('s1', 0), 1], [ov('s1', 1), 1]]);
  assert.ok(!(await nodeNames(dom)).some((n) => n.includes('-g2-')), 'the merged overlays\' nodes are deleted');
  assert.deepEqual((await readdir(env.imageDir)).sort(), ['vm-0.qcow2', 'vm-0.s1', 'vm-1.qcow2', 'vm-1.s1']);
  for (const xml of [await dom.getXMLDesc(), await dom.getXMLDesc(2)]) assert.ok(xml.includes(`'${ov('s1', 0)}'`) && !xml.includes('.s2'));

  // Intermediate commit: s3 on top, delete s1 (below it).
  await dom.snapshotCreateXML(snapXml('s3'), C.DISK_ONLY);
  await writeAll(r, 0x40, 3);
  started = performance.now();
  await (await dom.snapshotLookupByName('s1')).delete();
  t.diagnostic(`intermediate commit of 2 disks: ${(performance.now() - started).toFixed(0)} ms`);
  assert.deepEqual(await dom.snapshotListNames(), ['s3']);
  assert.deepEqual((await queryBlock(dom)).map((b) => [b.file, b.depth]), [[ov('s3', 0), 1], [ov('s3', 1), 1]]);
  assert.deepEqual((await readdir(env.imageDir)).sort(), ['vm-0.qcow2', 'vm-0.s3', 'vm-1.qcow2', 'vm-1.s3']);
  // s3's recorded domain now names the base, which holds what s1's overlay held.
  const s3xml = await (await dom.snapshotLookupByName('s3')).getXMLDesc();
  assert.ok(s3xml.includes(`<source file='${disks[0]!.path}'/>`) && !s3xml.includes('.s1'));

  await dom.destroy();
  assert.ok(await allData(r, (i) => ov('s3', i), [0x10, 0x20, 0x30, 0x40]), 'every write is still there');
  assert.ok(await allData(r, (i) => disks[i]!.path, [0x10, 0x20, 0x30]), 'the base holds what s3 froze');
});

for (const qemuDies of [false, true]) {
  test(`a 2-disk merge interrupted after the first disk is finished by recovery${qemuDies ? ' offline (QEMU died too)' : ''}`, async (t) => {
    const r = await makeRunningEnv(2);
    t.after(() => r.cleanup());
    const { dom, disks, env } = r;
    await dom.create();
    await writeAll(r, 0x11, 0);
    await dom.snapshotCreateXML(snapXml('s1'), C.DISK_ONLY);
    await writeAll(r, 0x21, 1);
    const child = await runChildOp(env.stateDir, 'live-delete.merge.after=crash@1', ['delete', 'vm', 's1', '0']);
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    // Killed between the disks' ends: the metadata already says s1 is gone; one disk is
    // merged, the other's data is copied but its graph change is still to come.
    const blocks = await queryBlock(dom);
    assert.equal(blocks[0]!.depth, 0);
    assert.ok(blocks[1]!.depth > 0, 'the second disk still has its overlay');
    if (qemuDies) {
      // SIGTERM flushes, as a host shutdown would; the remaining merge is then done with qemu-img.
      await terminateQemuIn(runtimeDirFor(env.stateDir, dom.getUUIDString()), 5000);
    }
    const conn = await env.reopen();
    const again = await conn.domainLookupByName('vm');
    assert.deepEqual(await again.snapshotListNames(), []);
    assert.equal(await again.isActive(), !qemuDies);
    if (!qemuDies) assert.deepEqual((await queryBlock(again)).map((b) => [b.file, b.depth]), disks.map((d) => [d.path, 0]));
    assert.deepEqual((await readdir(env.imageDir)).sort(), ['vm-0.qcow2', 'vm-1.qcow2']);
    for (const xml of [await again.getXMLDesc(2)]) assert.ok(!xml.includes('.s1'));
    if (!qemuDies) await again.destroy();
    assert.ok(await allData(r, (i) => disks[i]!.path, [0x11, 0x21]));
  });
}

test('delete while running keeps an overlay that carries a later internal snapshot (no merge drops its tag)', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, disks, env } = r;
  const overlay = disks[0]!.path.replace(/\.qcow2$/, '.s1');
  await dom.create();
  await writeAll(r, 0x12, 0);
  await dom.snapshotCreateXML(snapXml('s1'), C.DISK_ONLY);
  await writeAll(r, 0x22, 1);
  // An internal snapshot taken now lives as a tag inside s1's overlay.
  await dom.snapshotCreateXML(snapXml('i2'), 0);
  await writeAll(r, 0x32, 2);

  await (await dom.snapshotLookupByName('s1')).delete();
  assert.deepEqual(await dom.snapshotListNames(), ['i2']);
  assert.deepEqual((await readdir(env.imageDir)).sort(), ['vm-0.qcow2', 'vm-0.s1'], 'the overlay holding i2 stays');
  // i2 still reverts to exactly what it saw.
  await (await dom.snapshotLookupByName('i2')).revert();
  await dom.destroy();
  assert.ok(await hasPattern(overlay, 'qcow2', 0x12, 0, K64) && await hasPattern(overlay, 'qcow2', 0x22, K64, K64));
  assert.ok(!await hasPattern(overlay, 'qcow2', 0x32, 2 * K64, K64), 'the revert undid the write after i2');
});
