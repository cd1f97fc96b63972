/**
 * The NVRAM in group snapshots of shut-off UEFI domains: the group copies every member's
 * NVRAM, its revert writes each back byte for byte, its delete removes the copies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { nvramCopyPath } from '../../../../src/drivers/qemu/firmware/nvram-snapshot.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';
import { OVMF_VARS, uefiDomainIn } from '../support/uefi-domain.js';

test('group snapshot of two UEFI domains: every NVRAM copied, reverted byte for byte, the copies deleted', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const doms = [];
  const nvrams: string[] = [];
  for (const name of ['u0', 'u1']) {
    const { xml, nvram } = await uefiDomainIn(env.imageDir, name);
    await copyFile(OVMF_VARS, nvram);
    await writeFile(nvram, Buffer.alloc(512, name === 'u0' ? 0xa0 : 0xa1), { flag: 'r+' });
    nvrams.push(nvram);
    doms.push(await env.conn.domainDefineXML(xml));
  }
  const then = await Promise.all(nvrams.map((n) => readFile(n)));
  await env.conn.groupSnapshotCreateXML(doms, '<groupsnapshot><name>g</name></groupsnapshot>', 0);
  for (const n of nvrams) await writeFile(n, Buffer.alloc(4096, 0x5c), { flag: 'r+' });
  const group = await env.conn.groupSnapshotLookupByName('g');
  await group.revert();
  assert.deepEqual(await Promise.all(nvrams.map((n) => readFile(n))), then);
  const copies = doms.map((d) => nvramCopyPath(env.stateDir, d.getUUIDString(), 'g'));
  assert.ok(copies.every((c) => existsSync(c)));
  await group.delete();
  assert.deepEqual(copies.map((c) => existsSync(c)), [false, false]);
});
