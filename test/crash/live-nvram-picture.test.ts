/**
 * The live crash matrix's judge for a UEFI domain: its picture must tell a half-reverted
 * NVRAM from a whole one. On the world of the `… revert internal with memory
 * (snapshot-load in its QEMU) with NVRAM` row, after a clean revert, each half state below
 * must be neither the before nor the after picture, and putting it right must give the
 * after picture again (so the picture is stable and the NVRAM part is what told them
 * apart): the disks and the machine state reverted but the NVRAM file not, the restore's
 * undo copy left beside the snapshot's copy, and the file reverted while the running QEMU's
 * flash memory holds today's variable store. The world's firmware never ran: its vCPU is
 * still at the reset vector after the revert, and the NVRAM's bytes stayed put through it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { nvramCopyPath } from '../../src/drivers/qemu/firmware/nvram-snapshot.js';
import { DOMAIN, outcomeText, runChild } from './crash-world.js';
import { pictureOfLiveWorld, resetLiveWorld } from './live-world.js';
import { liveWorldForTest } from './live-world-for-test.js';
import { classify, describeDifference, openAt } from './world-state.js';

const ROW = 'live revert internal with memory (snapshot-load in its QEMU) with NVRAM, 1 disk';
const HOLDS_FILE = "QEMU's variable store holds the NVRAM file's bytes";

/** VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP */
const HMP = 1;

test('the live NVRAM picture tells a half-reverted NVRAM from a whole one, and QEMU\'s flash memory from the file', async (t) => {
  const w = await liveWorldForTest(t, 'snapvirt-live-nvram-picture-', ROW);
  const { stateDir, imageDirs } = w.dirs;
  const conn = await openAt(stateDir);
  const uuid = (await conn.domainLookupByName(DOMAIN)).getUUIDString();
  await conn.close();
  const nvram = `${imageDirs[0]}/${DOMAIN}_VARS.fd`;
  const copyA = nvramCopyPath(stateDir, uuid, 'A');

  // Before: each round gave the NVRAM other bytes, and QEMU holds the file's.
  const copies = ['A', 'B'].map((s) => w.before.nvram[nvramCopyPath(stateDir, uuid, s)]);
  assert.equal(new Set([w.before.nvram[nvram], ...copies]).size, 3, 'the file and the two copies differ');
  assert.equal(w.before.pflash, HOLDS_FILE);
  assert.match(w.before.runState, /^3:/, 'paused');

  await resetLiveWorld(w);
  const today = await readFile(nvram);
  const op = await runChild(stateDir, w.op, '');
  assert.equal(op.code, 0, outcomeText(op));
  const after = await pictureOfLiveWorld(w);
  const judge = async (): Promise<'before' | 'after' | undefined> => classify(await pictureOfLiveWorld(w), w.before, after);
  // After: the file is snapshot A's copy, QEMU's flash memory (loaded with the machine state) the same bytes.
  assert.equal(after.nvram[nvram], copies[0]);
  assert.equal(after.pflash, HOLDS_FILE);
  assert.equal(await judge(), 'after', 'the picture is stable: the NVRAM stayed put');
  // The firmware never ran: the vCPU is where a reset leaves it (the snapshot was taken of a never-run one).
  const conn2 = await openAt(stateDir);
  t.after(() => conn2.close());
  const dom = await conn2.domainLookupByName(DOMAIN);
  assert.match(await dom.qemuMonitorCommand('info registers', HMP), /EIP=0000fff0/);

  // The disks and the machine state reverted, the NVRAM file not.
  const reverted = await readFile(nvram);
  await writeFile(nvram, today);
  const half = await pictureOfLiveWorld(w);
  assert.equal(classify(half, w.before, after), undefined);
  assert.match(describeDifference(half, after), new RegExp(`world\\.nvram\\.${nvram.replace(/[./]/g, '\\$&')}`));
  await writeFile(nvram, reverted);
  assert.equal(await judge(), 'after');

  // The restore's undo copy left beside the snapshot's copy.
  await copyFile(nvram, `${copyA}.undo`);
  assert.equal(await judge(), undefined);
  await rm(`${copyA}.undo`);
  assert.equal(await judge(), 'after');

  // The file reverted, but QEMU's flash memory holds today's store (as a QEMU started before the restore would).
  await dom.destroy();
  await writeFile(nvram, today);
  await dom.create(1 /* paused */);
  await writeFile(nvram, reverted);
  const stale = await pictureOfLiveWorld(w);
  assert.equal(JSON.stringify(stale.nvram), JSON.stringify(after.nvram), 'the same NVRAM files');
  assert.match(stale.pflash ?? '', /holds other bytes than the NVRAM file/);
  // The restart also gave the paused state another reason: only that and the flash memory differ, and the flash alone tells it apart.
  assert.deepEqual(describeDifference(stale, after).split('\n').map((l) => l.split(':')[0]), ['world.runState', 'world.pflash']);
  assert.equal(classify({ ...stale, runState: after.runState }, w.before, after), undefined);
});
