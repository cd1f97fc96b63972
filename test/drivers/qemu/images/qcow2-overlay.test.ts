/** The native qcow2 overlay writer, checked by qemu-img check/info and by reading through it with qemu-io. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { qcow2OverlayBytes, writeQcow2Overlay } from '../../../../src/drivers/qemu/images/qcow2-overlay.js';
import { checkImage, createImage, imageInfo } from '../../../../src/drivers/qemu/images/qemu-img.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';
import { hasPattern, writePattern } from '../../../helpers/qemu-io.js';

for (const [format, size] of [['qcow2', 1 << 20], ['raw', 3 << 20], ['qcow2', 5 * 1024 ** 3]] as const) {
  test(`overlay on a ${size}-byte ${format} image: clean, right backing, reads and writes through`, async (t) => {
    const tmp = await makeTempDir();
    t.after(() => tmp.cleanup());
    const base = join(tmp.path, `base.${format}`);
    await createImage({ path: base, format, sizeBytes: size });
    await writePattern(base, format, 0x61, 0, 65536);
    const ov = join(tmp.path, 'ov.qcow2');
    await writeFile(ov, '', { mode: 0o600 });
    assert.equal(await writeQcow2Overlay(ov, base, format), true);
    const check = await checkImage(ov, 'qcow2');
    assert.equal(check.exitCode, 0);
    assert.equal(check.corruptions + check.leaks + check.checkErrors, 0);
    const info = await imageInfo(ov, 'qcow2');
    assert.equal(info.virtualSize, size);
    assert.equal(info.backingFilename, base);
    assert.equal(info.backingFormat, format);
    assert.equal(await hasPattern(ov, 'qcow2', 0x61, 0, 65536), true);
    await writePattern(ov, 'qcow2', 0x62, 65536, 65536);
    assert.equal(await hasPattern(ov, 'qcow2', 0x62, 65536, 65536), true);
    assert.equal((await checkImage(ov, 'qcow2')).exitCode, 0);
    assert.equal(await hasPattern(base, format, 0, 65536, 65536), true);
  });
}

test('same bytes as qemu-img create for the same backing', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const base = join(tmp.path, 'b.qcow2');
  await createImage({ path: base, format: 'qcow2', sizeBytes: 1 << 20 });
  const viaQemu = join(tmp.path, 'q.qcow2');
  await createImage({ path: viaQemu, format: 'qcow2', backing: { path: base, format: 'qcow2' } });
  const ours = qcow2OverlayBytes(1 << 20, base, 'qcow2');
  const theirs = await readFile(viaQemu);
  assert.equal(ours.length, theirs.length);
  // qemu-img also writes an optional feature-name table extension, which moves the backing
  // name (header bytes 8..15); every other header field and all later clusters match.
  const header = (b: Buffer) => Buffer.concat([b.subarray(0, 8), b.subarray(16, 0x70)]);
  assert.deepEqual(header(ours), header(theirs));
  assert.notEqual(ours.readBigUInt64BE(8), 0n);
  assert.deepEqual(ours.subarray(0x10000), theirs.subarray(0x10000));
});

test('unsupported backings are left to qemu-img', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const ov = join(tmp.path, 'ov.qcow2');
  await writeFile(ov, '', { mode: 0o600 });
  assert.equal(await writeQcow2Overlay(ov, join(tmp.path, 'missing'), 'qcow2'), false);
  assert.equal(await writeQcow2Overlay(ov, '/dev/null', 'raw'), false);
  assert.equal((await readFile(ov)).length, 0);
});
