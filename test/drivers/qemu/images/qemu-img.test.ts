/** qemu-img wrapper against the real qemu-img: create, info, snapshots, commit, rebase, check, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import {
  checkImage, commitImage, createImage, imageInfo, listSnapshotTags, rebaseImage,
  snapshotApply, snapshotCreate, snapshotDelete,
} from '../../../../src/drivers/qemu/images/qemu-img.js';
import { VirError } from '../../../../src/api/errors.js';
import { walkChain } from '../../../../src/drivers/qemu/images/chain-inspect.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';
import { hasPattern, holdImage, writePattern } from '../../../helpers/qemu-io.js';

const MiB = 1 << 20;

test('create, info and the backing chain (walked natively) with absolute backing and explicit format', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const base = join(tmp.path, 'base.qcow2');
  const top = join(tmp.path, 'top.qcow2');
  await createImage({ path: base, format: 'qcow2', sizeBytes: 2 * MiB });
  await createImage({ path: top, format: 'qcow2', backing: { path: base, format: 'qcow2' } });
  const info = await imageInfo(top, 'qcow2');
  assert.equal(info.format, 'qcow2');
  assert.equal(info.virtualSize, 2 * MiB);
  assert.equal(info.backingFilename, base);
  assert.equal(info.backingFormat, 'qcow2');
  const chain = await walkChain({ path: top, format: 'qcow2' });
  assert.deepEqual(chain.layers, [{ path: top, format: 'qcow2' }, { path: base, format: 'qcow2' }]);
  assert.equal(chain.loop, undefined);
});

test('internal snapshots: create, list, apply restores data, delete', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const img = join(tmp.path, 'd.qcow2');
  await createImage({ path: img, format: 'qcow2', sizeBytes: MiB });
  await writePattern(img, 'qcow2', 0xaa, 0, 65536);
  await snapshotCreate(img, 's1');
  await writePattern(img, 'qcow2', 0xbb, 0, 65536);
  assert.deepEqual(await listSnapshotTags(img), ['s1']);
  assert.equal(await hasPattern(img, 'qcow2', 0xbb, 0, 65536), true);
  await snapshotApply(img, 's1');
  assert.equal(await hasPattern(img, 'qcow2', 0xaa, 0, 65536), true);
  await snapshotDelete(img, 's1');
  assert.deepEqual(await listSnapshotTags(img), []);
});

test('internal snapshot on raw fails with qemu-img text in a VirError', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const img = join(tmp.path, 'd.raw');
  await createImage({ path: img, format: 'raw', sizeBytes: MiB });
  await assert.rejects(runRawSnapshot(img), (e: unknown) => e instanceof VirError && /not in qcow2 format/.test(e.message));
});

async function runRawSnapshot(img: string): Promise<void> {
  // snapshotCreate always names qcow2; a raw file is then rejected when opened as qcow2.
  await snapshotCreate(img, 's');
}

test('commit with -b merges the top data into the base', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const base = join(tmp.path, 'base.qcow2');
  const mid = join(tmp.path, 'mid.qcow2');
  const top = join(tmp.path, 'top.qcow2');
  await createImage({ path: base, format: 'qcow2', sizeBytes: MiB });
  await writePattern(base, 'qcow2', 0x11, 0, 65536);
  await createImage({ path: mid, format: 'qcow2', backing: { path: base, format: 'qcow2' } });
  await writePattern(mid, 'qcow2', 0x22, 65536, 65536);
  await createImage({ path: top, format: 'qcow2', backing: { path: mid, format: 'qcow2' } });
  await writePattern(top, 'qcow2', 0x33, 131072, 65536);
  await commitImage(top, 'qcow2', { base: mid });
  assert.equal(await hasPattern(mid, 'qcow2', 0x33, 131072, 65536), true);
  assert.equal(await hasPattern(mid, 'qcow2', 0x11, 0, 65536), true);
  // Without -b and with -d the top keeps its data and its backing gets it too.
  await commitImage(mid, 'qcow2', { keepTop: true });
  assert.equal(await hasPattern(base, 'qcow2', 0x22, 65536, 65536), true);
});

test('safe rebase keeps the data the image presents; unsafe only rewrites the header', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const base = join(tmp.path, 'base.qcow2');
  const mid = join(tmp.path, 'mid.qcow2');
  const top = join(tmp.path, 'top.qcow2');
  await createImage({ path: base, format: 'qcow2', sizeBytes: MiB });
  await createImage({ path: mid, format: 'qcow2', backing: { path: base, format: 'qcow2' } });
  await writePattern(mid, 'qcow2', 0x44, 0, 65536);
  await createImage({ path: top, format: 'qcow2', backing: { path: mid, format: 'qcow2' } });
  await rebaseImage(top, 'qcow2', { backing: { path: base, format: 'qcow2' } });
  assert.equal((await imageInfo(top, 'qcow2')).backingFilename, base);
  assert.equal(await hasPattern(top, 'qcow2', 0x44, 0, 65536), true);
  const other = join(tmp.path, 'other.qcow2');
  await createImage({ path: other, format: 'qcow2', backing: { path: mid, format: 'qcow2' } });
  await rebaseImage(other, 'qcow2', { backing: { path: base, format: 'qcow2' }, unsafe: true });
  assert.equal(await hasPattern(other, 'qcow2', 0x44, 0, 65536), false);
  assert.equal(await hasPattern(other, 'qcow2', 0, 0, 65536), true);
});

test('check reports a clean image and fails on garbage', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const img = join(tmp.path, 'd.qcow2');
  await createImage({ path: img, format: 'qcow2', sizeBytes: MiB });
  const r = await checkImage(img, 'qcow2');
  assert.equal(r.exitCode, 0);
  assert.equal(r.corruptions, 0);
  const junk = join(tmp.path, 'junk.qcow2');
  await writeFile(junk, Buffer.alloc(4096, 7), { mode: 0o600 });
  await assert.rejects(checkImage(junk, 'qcow2'), VirError);
});

test('a locked image: info needs -U, snapshot -c fails with the lock message', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const img = join(tmp.path, 'd.qcow2');
  await createImage({ path: img, format: 'qcow2', sizeBytes: MiB });
  const holder = await holdImage(img, 'qcow2');
  t.after(() => holder.release());
  await assert.rejects(imageInfo(img, 'qcow2'), (e: unknown) => e instanceof VirError && /lock/.test(e.message));
  assert.equal((await imageInfo(img, 'qcow2', { forceShare: true })).format, 'qcow2');
  await assert.rejects(snapshotCreate(img, 's'), (e: unknown) => e instanceof VirError && /lock/.test(e.message));
  await holder.release();
  await snapshotCreate(img, 's');
  assert.deepEqual(await listSnapshotTags(img), ['s']);
});

test('numeric tags: apply and delete act on the named snapshot, not the one with that ID', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const img = join(tmp.path, 'n.qcow2');
  await createImage({ path: img, format: 'qcow2', sizeBytes: MiB });
  await writePattern(img, 'qcow2', 1, 0, 65536);
  await snapshotCreate(img, '2'); // ID 1, holds pattern 1
  await writePattern(img, 'qcow2', 2, 0, 65536);
  await snapshotCreate(img, '1'); // ID 2, holds pattern 2
  await writePattern(img, 'qcow2', 3, 0, 65536);
  await snapshotApply(img, '1');
  assert.equal(await hasPattern(img, 'qcow2', 2, 0, 65536), true);
  await snapshotApply(img, '2');
  assert.equal(await hasPattern(img, 'qcow2', 1, 0, 65536), true);
  await snapshotDelete(img, '1');
  assert.deepEqual(await listSnapshotTags(img), ['2']);
});
