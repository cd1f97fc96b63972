/**
 * The native qcow2 header reader and lock probe (image-inspect.ts) against real qemu-img:
 * for images qemu-img made (compat 0.10 and 1.1, with and without backing files, relative
 * and absolute, with internal snapshots), every field snapvirt uses must equal what
 * `qemu-img info` reports; images the reader must not judge go to qemu-img and fail with
 * its error; an image another process holds is refused as qemu-img would refuse it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VirError } from '../../../../src/api/errors.js';
import { inspectImage } from '../../../../src/drivers/qemu/images/image-inspect.js';
import { probeImageLock } from '../../../../src/drivers/qemu/images/image-lock-probe.js';
import { imageInfo, snapshotCreate, snapshotDelete, type ImageInfo } from '../../../../src/drivers/qemu/images/qemu-img.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';
import { holdImage } from '../../../helpers/qemu-io.js';

const run = promisify(execFile);

/** The fields snapvirt reads, from either source. */
function fields(i: ImageInfo): Record<string, unknown> {
  return {
    format: i.format,
    virtualSize: i.virtualSize,
    backingFilename: i.backingFilename,
    fullBackingFilename: i.fullBackingFilename,
    backingFormat: i.backingFormat,
    dirty: i.dirty,
    snapshots: i.snapshots.map((s) => ({ id: s.id, name: s.name, vmStateSize: s.vmStateSize, dateSec: s.dateSec })),
  };
}

async function assertSameAsQemuImg(path: string, format: string): Promise<ImageInfo> {
  const native = await inspectImage(path, format, { access: 'read' });
  const qemu = await imageInfo(path, format);
  assert.deepEqual(fields(native), fields(qemu), path);
  return native;
}

for (const compat of ['0.10', '1.1'] as const) {
  test(`compat ${compat}: size, backing (absolute, relative) and snapshots match qemu-img info`, async (t) => {
    const tmp = await makeTempDir();
    t.after(() => tmp.cleanup());
    const base = join(tmp.path, 'base.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `compat=${compat}`, base, '3G']);
    const plain = await assertSameAsQemuImg(base, 'qcow2');
    assert.equal(plain.virtualSize, 3 * 1024 ** 3);
    assert.equal(plain.backingFilename, undefined);

    const abs = join(tmp.path, 'abs.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `compat=${compat}`, '-b', base, '-F', 'qcow2', abs]);
    assert.equal((await assertSameAsQemuImg(abs, 'qcow2')).backingFormat, 'qcow2');

    const rel = join(tmp.path, 'rel.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `compat=${compat}`, '-b', 'abs.qcow2', '-F', 'qcow2', rel]);
    const relInfo = await assertSameAsQemuImg(rel, 'qcow2');
    assert.equal(relInfo.backingFilename, 'abs.qcow2');
    assert.equal(relInfo.fullBackingFilename, abs);

    // Internal snapshots, one deleted in the middle, names long enough to span several reads.
    for (let i = 0; i < 40; i++) await snapshotCreate(abs, `snap-${i}-${'x'.repeat(i * 5)}`);
    await snapshotDelete(abs, `snap-3-${'x'.repeat(15)}`);
    const snaps = (await assertSameAsQemuImg(abs, 'qcow2')).snapshots;
    assert.equal(snaps.length, 39);
    assert.equal(snaps.some((s) => s.name === 'snap-3-' + 'x'.repeat(15)), false);
  });
}

test('raw images: the size is the file length, like qemu-img info', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const raw = join(tmp.path, 'disk.raw');
  await run('qemu-img', ['create', '-q', '-f', 'raw', raw, '5M']);
  assert.equal((await assertSameAsQemuImg(raw, 'raw')).virtualSize, 5 * 1024 * 1024);
});

test('what the reader must not judge goes to qemu-img: a raw file as qcow2, a missing file, a truncated header', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const raw = join(tmp.path, 'disk.raw');
  await run('qemu-img', ['create', '-q', '-f', 'raw', raw, '1M']);
  await assert.rejects(inspectImage(raw, 'qcow2', { access: 'read' }), (e: unknown) => e instanceof VirError && /qcow2/.test(e.message));
  await assert.rejects(inspectImage(join(tmp.path, 'missing.qcow2'), 'qcow2'),
    (e: unknown) => e instanceof VirError && /No such file or directory/.test(e.message));
  const truncated = join(tmp.path, 'trunc.qcow2');
  await writeFile(truncated, Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]));
  await assert.rejects(inspectImage(truncated, 'qcow2'), VirError);
});

test('an image held read-write by qemu-io is refused for reading and for writing, as qemu-img refuses it', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const img = join(tmp.path, 'held.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', img, '1M']);
  assert.deepEqual(await probeImageLock(img, 'write'), { kind: 'free' });
  const holder = await holdImage(img, 'qcow2');
  try {
    await assert.rejects(imageInfo(img, 'qcow2'), /Failed to get shared "write" lock/);
    await assert.rejects(inspectImage(img, 'qcow2', { access: 'read' }), (e: unknown) =>
      e instanceof VirError && /Failed to get shared "write" lock/.test(e.message) && e.message.includes(img));
    await assert.rejects(inspectImage(img, 'qcow2', { access: 'write' }), /lock/);
    // Without an access, as qemu-img info -U: readable.
    assert.equal((await inspectImage(img, 'qcow2')).virtualSize, 1 << 20);
  } finally {
    await holder.release();
  }
  assert.deepEqual(await probeImageLock(img, 'read'), { kind: 'free' });
  await inspectImage(img, 'qcow2', { access: 'write' });
});

test('an image held read-only: qemu-img info works, a change does not; the probe agrees on both', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const img = join(tmp.path, 'ro.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', img, '1M']);
  const child = spawn('qemu-io', ['-r', '-f', 'qcow2', img], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => { child.kill(); });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('format name')) resolve(); });
    child.once('exit', (code) => reject(new Error(`qemu-io exited early (${code})`)));
    child.stdin.write('info\n');
  });
  await imageInfo(img, 'qcow2');
  await assert.rejects(snapshotCreate(img, 's'), /lock/);
  await inspectImage(img, 'qcow2', { access: 'read' });
  await assert.rejects(inspectImage(img, 'qcow2', { access: 'write' }), /Failed to get "write" lock/);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.stdin.end('quit\n');
  await exited;
});
