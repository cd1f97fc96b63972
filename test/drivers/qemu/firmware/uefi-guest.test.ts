/**
 * The tiny guest booted by OVMF (the kernel reaches the firmware through fw_cfg): its first
 * boot writes the variable store; a snapshot keeps it; the store is then reset to the
 * pristine template (every boot entry OVMF wrote is gone); a revert brings back the
 * snapshot's store byte for byte, and the guest boots from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tinyGuestWorld, tinyGuestXml, waitForAgent } from '../support/tiny-guest.js';

process.env.SNAPVIRT_QEMU_ACCEL = 'tcg';
const VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
// OVMF under TCG on a busy two-core host: minutes, not seconds.
const BOOT_WAIT_MS = 600_000;

test('a UEFI guest: snapshot, NVRAM reset, revert: the old NVRAM byte for byte, and the guest boots', { timeout: 1_800_000 }, async (t) => {
  const { env, data, agentSocketOf } = await tinyGuestWorld(t);
  const nvram = join(env.imageDir, 'guest_VARS.fd');
  const dom = await env.conn.domainDefineXML(tinyGuestXml(data, { uefiNvram: nvram }));
  const sock = agentSocketOf(dom);
  await dom.create(0);
  await waitForAgent(sock, BOOT_WAIT_MS);
  await dom.destroy();
  const booted = await readFile(nvram);
  assert.notDeepEqual(booted, await readFile(VARS), 'the first boot wrote variables (its boot entries)');

  await dom.snapshotCreateXML('<domainsnapshot><name>booted</name></domainsnapshot>', 0);
  await copyFile(VARS, nvram);
  await dom.revertToSnapshot(await dom.snapshotLookupByName('booted'), 0);
  assert.deepEqual(await readFile(nvram), booted);

  await dom.create(0);
  await waitForAgent(sock, BOOT_WAIT_MS);
  await dom.destroy();
});
