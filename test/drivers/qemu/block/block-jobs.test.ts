/**
 * Block jobs on a running domain with real QEMU (TCG): an active commit that pivots onto
 * the base, an intermediate --shallow commit, a pull, libvirt's refusals, the refusal of a
 * commit that would change what a snapshot needs, and domblkinfo's sizes for qcow2 and
 * raw, shut off and running. Every data check reads the images with qemu-io.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { BlockCommitFlags as BC, SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { isVirError } from '../../../../src/api/errors.js';
import { hasPattern } from '../../../helpers/qemu-io.js';
import { domainXml, makeImages } from '../../../helpers/domain-fixture.js';
import { snapvirtCommand } from '../../../helpers/run-command.js';
import { guestWriteVia, makeRunningEnv, queryBlock } from '../support/active-env.js';

const K64 = 64 * 1024;
const diskOnly = C.DISK_ONLY | C.NO_METADATA;
const snapXml = (name: string, path: string): string =>
  `<domainsnapshot><name>${name}</name><disks><disk name='vda' snapshot='external'><source file='${path}'/></disk></disks></domainsnapshot>`;

async function rejects(p: Promise<unknown>, code: number, message: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isVirError(err), String(err));
    assert.equal(err.message, message);
    assert.equal(err.code, code);
    return true;
  });
}

test('blockcommit --active --pivot folds the overlay into the base; the overlay file stays', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, disks } = r;
  const base = disks[0]!.path;
  const top = base.replace(/\.qcow2$/, '.top');
  await dom.create();
  await guestWriteVia(dom, 'vda', 0x11, 0, '64k');
  await dom.snapshotCreateXML(snapXml('t', top), diskOnly);
  await guestWriteVia(dom, 'vda', 0x22, K64, '64k');

  await rejects(dom.blockCommit('vda', null, null), 8, 'invalid argument: commit of \'vda\' active layer requires active flag');
  await rejects(dom.blockCommit('vdz', null, null, 0, BC.ACTIVE), 8, "invalid argument: disk 'vdz' not found in domain");
  await rejects(dom.blockCommit('vda', null, base), 8, `invalid argument: top '${base}' in chain for 'vda' has no backing file`);
  assert.deepEqual((await queryBlock(dom)).map((b) => [b.file, b.depth]), [[top, 1]], 'a refusal changes nothing');

  await dom.blockCommit('vda', null, null, 0, BC.ACTIVE);
  assert.deepEqual((await queryBlock(dom)).map((b) => [b.file, b.depth]), [[base, 0]]);
  for (const flags of [0, 2]) assert.ok((await dom.getXMLDesc(flags)).includes(`<source file='${base}'/>`), 'both definitions name the base');
  assert.ok(existsSync(top), 'libvirt keeps the committed overlay unless --delete');
  await dom.destroy();
  assert.ok(await hasPattern(base, 'qcow2', 0x11, 0, K64));
  assert.ok(await hasPattern(base, 'qcow2', 0x22, K64, K64), 'what the guest wrote into the overlay is in the base');
  await rejects(dom.blockCommit('vda', null, null, 0, BC.ACTIVE), 55, 'Requested operation is not valid: domain is not running');
});

test('blockcommit --shallow of a middle layer, then blockpull: the chain shrinks, the data stays', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, disks } = r;
  const base = disks[0]!.path;
  const mid = base.replace(/\.qcow2$/, '.mid');
  const top = base.replace(/\.qcow2$/, '.top');
  await dom.create();
  await guestWriteVia(dom, 'vda', 0x11, 0, '64k');
  await dom.snapshotCreateXML(snapXml('m', mid), diskOnly);
  await guestWriteVia(dom, 'vda', 0x22, K64, '64k');
  await dom.snapshotCreateXML(snapXml('t', top), diskOnly);
  await guestWriteVia(dom, 'vda', 0x33, 2 * K64, '64k');

  await rejects(dom.blockCommit('vda', null, mid, 0, BC.ACTIVE), 8, `invalid argument: active commit requested but '${mid}' is not active`);
  await dom.blockCommit('vda', null, mid, 0, BC.SHALLOW);
  assert.deepEqual((await queryBlock(dom)).map((b) => [b.file, b.depth]), [[top, 1]]);
  assert.ok(await hasPattern(base, 'qcow2', 0x22, K64, K64), 'the middle layer is in the base');
  assert.equal(await dom.getBlockJobInfo('vda'), null);

  await dom.blockPull('vda');
  assert.deepEqual((await queryBlock(dom)).map((b) => [b.file, b.depth]), [[top, 0]]);
  await dom.destroy();
  for (const [p, slot] of [[0x11, 0], [0x22, 1], [0x33, 2]] as const) assert.ok(await hasPattern(top, 'qcow2', p, slot * K64, K64));
});

test('a commit into an image a snapshot needs is refused and changes nothing', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, disks } = r;
  const base = disks[0]!.path;
  const top = base.replace(/\.qcow2$/, '.s1');
  await dom.create();
  await dom.snapshotCreateXML(snapXml('s1', top), C.DISK_ONLY);
  await guestWriteVia(dom, 'vda', 0x22, 0, '64k');
  await rejects(dom.blockCommit('vda', null, null, 0, BC.ACTIVE), 55,
    `Requested operation is not valid: cannot commit '${top}' into '${base}': snapshot 's1' needs image '${base}'`);
  assert.deepEqual((await queryBlock(dom)).map((b) => [b.file, b.depth]), [[top, 1]]);
  await dom.destroy();
  assert.ok(!await hasPattern(base, 'qcow2', 0x22, 0, K64), 'the base is as the snapshot froze it');
});

test('domblkinfo: qcow2 and raw, shut off and running, as libvirt computes them', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, disks, env } = r;
  const image = disks[0]!.path;
  const st = await stat(image);
  assert.deepEqual(await dom.getBlockInfo('vda'), { capacity: 16 << 20, allocation: st.blocks * 512, physical: st.size });
  assert.deepEqual(await dom.getBlockInfo(image), await dom.getBlockInfo('vda'), 'a disk is named by target or source');
  await rejects(dom.getBlockInfo('vdz'), 8, 'invalid argument: invalid path vdz not assigned to domain');
  // A raw disk: its capacity is the file's size.
  const [raw] = await makeImages(env.imageDir, 'rawvm', ['raw'], 8 << 20);
  const rawDom = await env.conn.domainDefineXML(domainXml('rawvm', [raw!]));
  const rawSt = await stat(raw!.path);
  assert.deepEqual(await rawDom.getBlockInfo('vda'), { capacity: 8 << 20, allocation: rawSt.blocks * 512, physical: 8 << 20 });
  await rawDom.create();
  await guestWriteVia(rawDom, 'vda', 0x11, 0, '1M');
  // Running raw: allocation is the highest offset written (1 MiB); it equals what the file
  // occupies (QEMU's actual-size), and then libvirt reports the file's size as physical.
  assert.equal((await stat(raw!.path)).blocks * 512, 1 << 20);
  assert.deepEqual(await rawDom.getBlockInfo('vda'), { capacity: 8 << 20, allocation: 1 << 20, physical: 8 << 20 });
  await rawDom.destroy();

  await dom.create();
  await guestWriteVia(dom, 'vda', 0x11, 0, '1M');
  const live = await dom.getBlockInfo('vda');
  assert.equal(live.capacity, 16 << 20);
  assert.equal(live.physical, (await stat(image)).size);
  assert.ok(live.allocation >= 1 << 20, 'the written MiB is allocated');
  await dom.destroy();

  const out = await snapvirtCommand(['-c', 'qemu:///session', 'domblkinfo', 'vm', 'vda', '--human'], { SNAPVIRT_STATE_DIR: env.stateDir });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^Capacity:       16\.000 MiB\nAllocation:     [\d.]+ (KiB|MiB)\nPhysical:       [\d.]+ (KiB|MiB)\n/);
});
