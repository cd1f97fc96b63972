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
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DomainState, SnapshotCreateFlags as C, SnapshotRevertFlags as R } from '../../../../src/api/flags.js';
import { nvramCopyPath } from '../../../../src/drivers/qemu/firmware/nvram-snapshot.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';
import { killAllQemu } from '../support/active-env.js';

const run = promisify(execFile);
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
    const disk = join(env.imageDir, 'd.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '8M']);
    const nvram = join(env.imageDir, 'uefi_VARS.fd');
    const dom = await env.conn.domainDefineXML(`<domain type='qemu'><name>uefi</name><memory unit='KiB'>131072</memory><vcpu>1</vcpu>
      <os><type arch='x86_64' machine='pc'>hvm</type>
        <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
        <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>${nvram}</nvram></os>
      <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices>
    </domain>`);
    await dom.create(1 /* paused */);
    assert.deepEqual(await readFile(nvram), await readFile('/usr/share/OVMF/OVMF_VARS_4M.fd'), 'created from the template at start');
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
  const disk = join(env.imageDir, 'd.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '1M']);
  const nvram = join(env.imageDir, 'uefi_VARS.fd');
  const dom = await env.conn.domainDefineXML(`<domain type='qemu'><name>uefi</name><memory unit='KiB'>131072</memory><vcpu>1</vcpu>
    <os><type arch='x86_64' machine='pc'>hvm</type>
      <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>
      <nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>${nvram}</nvram></os>
    <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices>
  </domain>`);
  await dom.snapshotCreateXML('<domainsnapshot><name>fresh</name></domainsnapshot>', 0);
  await copyFile('/usr/share/OVMF/OVMF_VARS_4M.fd', nvram);
  await writeFile(nvram, Buffer.alloc(512, 0x77), { flag: 'r+' });
  await dom.revertToSnapshot(await dom.snapshotLookupByName('fresh'), 0);
  assert.deepEqual(await readFile(nvram), await readFile('/usr/share/OVMF/OVMF_VARS_4M.fd'));
});
