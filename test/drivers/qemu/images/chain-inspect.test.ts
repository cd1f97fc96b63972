/**
 * The chain-walking primitive against real qemu-img images: a header is read only from
 * an image whose format is known (never from a raw disk, never from a backing file whose
 * format its parent does not record); FIFOs and devices are refused without being opened
 * (a FIFO writer stays blocked); a looping chain is reported; qemu-img is stopped at its
 * time bound with a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { chmod, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { VirError, VirErrorCode } from '../../../../src/api/errors.js';
import { findChildImages, readBackingLink, refuseUnsafeChain, walkChain } from '../../../../src/drivers/qemu/images/chain-inspect.js';
import { openImageFile } from '../../../../src/drivers/qemu/images/image-file-open.js';
import { inspectImage } from '../../../../src/drivers/qemu/images/image-inspect.js';
import { imageInfo } from '../../../../src/drivers/qemu/images/qemu-img.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';

const run = promisify(execFile);

async function qcow2(path: string, backing?: { path: string; format?: string }): Promise<void> {
  const args = ['create', '-q', '-f', 'qcow2'];
  if (backing) args.push('-u', '-b', backing.path, '-F', backing.format ?? 'raw');
  await run('qemu-img', [...args, path, '1M']);
}

test('a raw image is never parsed, whatever its content; qcow2 layers are followed with their recorded formats', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const secret = join(tmp.path, 'secret');
  await writeFile(secret, 'x');
  const header = join(tmp.path, 'h.qcow2');
  await qcow2(header, { path: secret, format: 'qcow2' });
  const raw = join(tmp.path, 'guest.raw');
  await writeFile(raw, await readFile(header));
  // Declared raw: no link, whatever the bytes say. Declared qcow2 (by someone): read.
  assert.equal(await readBackingLink(raw, 'raw'), undefined);
  assert.deepEqual((await walkChain({ path: raw, format: 'raw' })).layers, [{ path: raw, format: 'raw' }]);
  assert.deepEqual(await readBackingLink(raw, 'qcow2'), { path: secret, format: 'qcow2' });
  // An overlay on the raw disk (format recorded raw) stops at the raw disk.
  const top = join(tmp.path, 'top.qcow2');
  await qcow2(top, { path: raw, format: 'raw' });
  assert.deepEqual((await walkChain({ path: top, format: 'qcow2' })).layers, [{ path: top, format: 'qcow2' }, { path: raw, format: 'raw' }]);
  // findChildImages never reads a file declared raw.
  assert.deepEqual(await findChildImages(secret, [tmp.path]), [header, raw].sort());
  assert.deepEqual(await findChildImages(secret, [tmp.path], new Set([raw])), [header]);
});

test('a backing file whose format the parent does not record is named but never read', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const secret = join(tmp.path, 'secret');
  await writeFile(secret, 'x');
  const guest = join(tmp.path, 'guest.img');
  await qcow2(guest, { path: secret, format: 'qcow2' });
  const top = join(tmp.path, 'top.qcow2');
  await qcow2(top, { path: guest });
  // Remove the backing-format extension (qemu-img ≥ 6 always writes one): rebase -u with no -F is refused, so patch the header.
  const fh = await open(top, 'r+');
  const ext = Buffer.alloc(4);
  await fh.read(ext, 0, 4, 112);
  assert.equal(ext.readUInt32BE(0), 0xe2792aca, 'the backing format extension sits right after the v3 header');
  await fh.write(Buffer.from([0x12, 0x34, 0x56, 0x78]), 0, 4, 112); // an unknown (ignored) extension type
  await fh.close();
  assert.deepEqual(await readBackingLink(top, 'qcow2'), { path: guest });
  assert.deepEqual((await walkChain({ path: top, format: 'qcow2' })).layers, [{ path: top, format: 'qcow2' }, { path: guest, format: undefined }]);
  // Anything that would have qemu-img open this chain (a merge) is refused with libvirt's words.
  await assert.rejects(refuseUnsafeChain({ path: top, format: 'qcow2' }), (e: unknown) => {
    assert.ok(e instanceof VirError);
    assert.equal(e.code, VirErrorCode.OPERATION_INVALID);
    assert.equal(e.message, `Requested operation is not valid: format of backing image '${guest}' of image '${top}' was not specified `
      + 'in the image metadata (See https://libvirt.org/kbase/backing_chains.html for troubleshooting)');
    return true;
  });
  await refuseUnsafeChain({ path: guest, format: 'qcow2' });
});

test('a FIFO or a device is refused from its stat: never opened, so a FIFO writer stays blocked', async (t) => {
  const tmp = await makeTempDir();
  const fifo = join(tmp.path, 'fifo');
  await run('mkfifo', [fifo]);
  let opened = false;
  const writer = spawn(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(fifo)}, 'w'); process.stdout.write('x')`],
    { stdio: ['ignore', 'pipe', 'ignore'] });
  writer.stdout?.on('data', () => { opened = true; });
  t.after(async () => {
    if (writer.exitCode === null) {
      // Opening the read end lets the writer's open return; it then exits.
      const exited = new Promise((r) => writer.once('exit', r));
      const fh = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      await exited;
      await fh.close();
    }
    await tmp.cleanup();
  });
  for (const [path, what] of [[fifo, 'a FIFO'], ['/dev/zero', 'a character device']] as const) {
    await assert.rejects(openImageFile(path), (e: unknown) => e instanceof VirError && e.message.includes(`'${path}' is ${what}, not a regular file`));
    await assert.rejects(inspectImage(path, 'raw'), (e: unknown) => e instanceof VirError && e.code === VirErrorCode.OPERATION_INVALID);
    assert.equal(await readBackingLink(path, 'qcow2'), undefined);
  }
  const top = join(tmp.path, 'top.qcow2');
  await qcow2(top, { path: fifo, format: 'qcow2' });
  assert.deepEqual((await walkChain({ path: top, format: 'qcow2' })).layers, [{ path: top, format: 'qcow2' }, { path: fifo, format: 'qcow2' }]);
  assert.equal(opened, false, 'nobody opened the FIFO');
});

test('a looping chain is reported with the layer met again', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const a = join(tmp.path, 'a.qcow2');
  const b = join(tmp.path, 'b.qcow2');
  await qcow2(a, { path: b, format: 'qcow2' });
  await qcow2(b, { path: a, format: 'qcow2' });
  const walked = await walkChain({ path: a, format: 'qcow2' });
  assert.deepEqual(walked.layers.map((l) => l.path), [a, b]);
  assert.deepEqual(walked.loop, { path: a, canonical: a });
});

test('qemu-img is stopped at its time bound with a clear error', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const slow = join(tmp.path, 'qemu-img');
  await writeFile(slow, '#!/bin/sh\nexec sleep 600\n');
  await chmod(slow, 0o755);
  const saved = { bin: process.env.SNAPVIRT_QEMU_IMG, ms: process.env.SNAPVIRT_QEMU_IMG_TIMEOUT_MS };
  process.env.SNAPVIRT_QEMU_IMG = slow;
  process.env.SNAPVIRT_QEMU_IMG_TIMEOUT_MS = '300';
  t.after(() => {
    for (const [k, v] of [['SNAPVIRT_QEMU_IMG', saved.bin], ['SNAPVIRT_QEMU_IMG_TIMEOUT_MS', saved.ms]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  await assert.rejects(imageInfo(join(tmp.path, 'x.qcow2'), 'qcow2'), (e: unknown) => {
    assert.ok(e instanceof VirError);
    assert.equal(e.code, VirErrorCode.OPERATION_TIMEOUT);
    assert.equal(e.message, `Timed out during operation: qemu-img info did not finish within 300 ms and was stopped: ${join(tmp.path, 'x.qcow2')}`);
    return true;
  });
});
