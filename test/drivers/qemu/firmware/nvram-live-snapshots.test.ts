/**
 * The NVRAM inside live snapshots of a QEMU running OVMF: internal with memory, external
 * with memory, and disk-only; each copies the variable store, and a revert (in the running
 * QEMU with snapshot-load, or by a new QEMU) writes it back byte for byte, delete removes
 * the copy. The domain runs paused, so the firmware itself writes no variable meanwhile
 * and the bytes the test writes are the only change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { DomainState, SnapshotCreateFlags as C, SnapshotRevertFlags as R } from '../../../../src/api/flags.js';
import { nvramCopyPath } from '../../../../src/drivers/qemu/firmware/nvram-snapshot.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';
import { killAllQemu } from '../support/active-env.js';
import { OVMF_VARS, uefiDomainIn } from '../support/uefi-domain.js';

process.env.SNAPVIRT_QEMU_ACCEL = 'tcg';

const CASES = [
  { name: 'internal with memory', xml: (n: string) => `<domainsnapshot><name>${n}</name></domainsnapshot>`, flags: 0 },
  { name: 'external with memory', xml: (n: string, dir: string) => `<domainsnapshot><name>${n}</name><memory snapshot='external' file='${dir}/${n}.mem'/></domainsnapshot>`, flags: 0 },
  { name: 'disk-only', xml: (n: string) => `<domainsnapshot><name>${n}</name></domainsnapshot>`, flags: C.DISK_ONLY },
];

for (const c of CASES) {
  test(`live ${c.name}: the NVRAM is copied, restored byte for byte by revert, its copy removed by delete`, async (t) => {
    const env = await openQemuTestEnv();
    t.after(async () => {
      await killAllQemu(env.stateDir);
      await env.cleanup();
    });
    const { xml, nvram } = await uefiDomainIn(env.imageDir, 'uefi', '8M');
    const dom = await env.conn.domainDefineXML(xml);
    await dom.create(1 /* paused */);
    assert.deepEqual(await readFile(nvram), await readFile(OVMF_VARS), 'created from the template at start');
    await writeFile(nvram, Buffer.alloc(512, 0xa1), { flag: 'r+' });
    const old = await readFile(nvram);
    await dom.snapshotCreateXML(c.xml('s1', env.imageDir), c.flags);
    const copy = nvramCopyPath(env.stateDir, dom.getUUIDString(), 's1');
    assert.deepEqual(await readFile(copy), old);

    await writeFile(nvram, Buffer.alloc(4096, 0x5c), { flag: 'r+' });
    await dom.revertToSnapshot(await dom.snapshotLookupByName('s1'), R.PAUSED);
    assert.deepEqual(await readFile(nvram), old);
    assert.equal((await dom.getState()).state, DomainState.PAUSED);
    assert.equal(existsSync(`${copy}.undo`), false);
    await (await dom.snapshotLookupByName('s1')).delete(0);
    assert.equal(existsSync(copy), false);
  });
}

test('a snapshot of a domain whose NVRAM was never written captures the template', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const { xml, nvram } = await uefiDomainIn(env.imageDir, 'uefi', '1M');
  const dom = await env.conn.domainDefineXML(xml);
  await dom.snapshotCreateXML('<domainsnapshot><name>fresh</name></domainsnapshot>', 0);
  await copyFile(OVMF_VARS, nvram);
  await writeFile(nvram, Buffer.alloc(512, 0x77), { flag: 'r+' });
  await dom.revertToSnapshot(await dom.snapshotLookupByName('fresh'), 0);
  assert.deepEqual(await readFile(nvram), await readFile(OVMF_VARS));
});

test('start --reset-nvram: the variable store is re-created from its template', async (t) => {
  const env = await openQemuTestEnv();
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  });
  const { xml, nvram } = await uefiDomainIn(env.imageDir, 'uefi', '1M');
  const dom = await env.conn.domainDefineXML(xml);
  await copyFile(OVMF_VARS, nvram);
  await writeFile(nvram, Buffer.alloc(512, 0x77), { flag: 'r+' });
  await dom.create(1 /* paused */ | 0x20 /* RESET_NVRAM */);
  assert.deepEqual(await readFile(nvram), await readFile(OVMF_VARS));
});
