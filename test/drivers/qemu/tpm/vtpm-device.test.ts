/**
 * The emulated TPM: `<tpm><backend type='emulator' version='2.0'/>` on QEMU's command line
 * as libvirt maps it (-chardev socket + -tpmdev emulator + -device tpm-crb|tpm-tis), the
 * refusals, and a real start: swtpm_setup manufactures the state under the state dir (0700),
 * swtpm runs before QEMU, QEMU's query-tpm shows the device, destroy leaves no swtpm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VirError, VirErrorCode } from '../../../../src/api/errors.js';
import { parseDomainXML } from '../../../../src/conf/domain-xml.js';
import { runtimeDirFor } from '../../../../src/drivers/qemu/domain/active-runtime.js';
import { buildQemuCommandLine } from '../../../../src/drivers/qemu/domain/qemu-command-line.js';
import { QemuProcess } from '../../../../src/drivers/qemu/domain/qemu-process.js';
import { swtpmPaths, tpmStateDirFor } from '../../../../src/drivers/qemu/tpm/swtpm-process.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';
import { emulatorTpm as emulator, swtpmsNaming, tpmDomainXml as tpmXml, tpmTestDisk } from '../support/tpm-domain.js';

test('tpm: -chardev socket, -tpmdev emulator and -device tpm-crb|tpm-tis as libvirt maps them', () => {
  for (const model of ['tpm-crb', 'tpm-tis']) {
    const def = parseDomainXML(tpmXml('t', '/tmp/d.qcow2', emulator(model)));
    const { args } = buildQemuCommandLine(def, { accel: 'tcg', qmpSocketPath: '/tmp/q', pidfilePath: '/tmp/p', tpmSocketPath: '/run/x/swtpm.sock', skipDisks: true });
    const valuesOf = (opt: string): string[] => args.flatMap((a, i) => (args[i - 1] === opt ? [a] : []));
    assert.ok(valuesOf('-chardev').includes('socket,id=chrtpm,path=/run/x/swtpm.sock'));
    assert.deepEqual(valuesOf('-tpmdev'), ['emulator,id=tpm-tpm0,chardev=chrtpm']);
    assert.ok(valuesOf('-device').includes(`${model},tpmdev=tpm-tpm0,id=tpm0`), valuesOf('-device').join(' '));
  }
});

test('tpm: passthrough, TPM 1.2, an unknown model and two TPMs are refused as unsupported configuration', () => {
  const refused: [string, RegExp][] = [
    ["<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>", /<backend type='passthrough'> in <tpm model='tpm-tis'> is not supported by snapvirt/],
    ["<tpm model='tpm-crb'><backend type='emulator' version='1.2'/></tpm>", /TPM version '1.2' is not supported by snapvirt/],
    ["<tpm model='tpm-spapr'><backend type='emulator'/></tpm>", /<tpm model='tpm-spapr'> is not supported by snapvirt/],
    [emulator('tpm-crb') + emulator('tpm-tis'), /only a single TPM device/],
  ];
  for (const [tpm, message] of refused) {
    const def = parseDomainXML(tpmXml('t', '/tmp/d.qcow2', tpm));
    assert.throws(() => buildQemuCommandLine(def, { accel: 'tcg', qmpSocketPath: '/tmp/q', pidfilePath: '/tmp/p', skipDisks: true }),
      (e: unknown) => e instanceof VirError && e.code === VirErrorCode.CONFIG_UNSUPPORTED && message.test(e.message), tpm);
  }
});

for (const [model, machine] of [['tpm-crb', 'q35'], ['tpm-tis', 'pc']] as const) {
  test(`tpm: a ${model} domain starts with swtpm, query-tpm shows it, destroy leaves no swtpm`, async (t) => {
    const env = await openQemuTestEnv();
    t.after(() => env.cleanup());
    const disk = await tpmTestDisk(env.imageDir, 'd');
    const dom = await env.conn.domainDefineXML(tpmXml('vtpm', disk, emulator(model), machine));
    await dom.create();
    const uuid = dom.getUUIDString();
    const stateDir = tpmStateDirFor(env.stateDir, uuid);
    assert.equal((await stat(stateDir)).mode & 0o777, 0o700);
    assert.ok(existsSync(join(stateDir, 'tpm2-00.permall')), 'swtpm_setup manufactured the TPM');
    const runtimeDir = runtimeDirFor(env.stateDir, uuid);
    const socket = swtpmPaths(runtimeDir).socket;
    assert.equal((await swtpmsNaming(socket)).length, 1);
    const proc = await QemuProcess.attach(runtimeDir);
    try {
      const tpms = await proc.qmp.execute('query-tpm') as { id: string; model: string; options: { type: string } }[];
      assert.deepEqual(tpms.map((d) => [d.id, d.model, d.options.type]), [['tpm-tpm0', model, 'emulator']]);
    } finally {
      await proc.qmp.close();
    }
    await dom.destroy();
    assert.deepEqual(await swtpmsNaming(socket), []);
    assert.equal(existsSync(socket), false);
    // The state stays for the next start, which does not manufacture it again.
    const permall = await readFile(join(stateDir, 'tpm2-00.permall'));
    await dom.create();
    assert.equal((await swtpmsNaming(socket)).length, 1);
    await dom.destroy();
    assert.ok(permall.length > 0);
    assert.deepEqual(await swtpmsNaming(socket), []);
  });
}

test('tpm: a QEMU killed outside snapvirt takes its swtpm with it (--terminate), and the next start runs a new one', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const disk = await tpmTestDisk(env.imageDir, 'd');
  const dom = await env.conn.domainDefineXML(tpmXml('vtpm', disk, emulator('tpm-tis')));
  await dom.create();
  const runtimeDir = runtimeDirFor(env.stateDir, dom.getUUIDString());
  const socket = swtpmPaths(runtimeDir).socket;
  const [swtpm] = await swtpmsNaming(socket);
  assert.ok(swtpm !== undefined);
  const qemuPid = Number((await readFile(join(runtimeDir, 'qemu.pid'), 'utf8')).trim());
  process.kill(qemuPid, 'SIGKILL');
  // swtpm ends by itself once QEMU's connection is gone: no snapvirt call in between.
  // (Polled, bounded only so that a swtpm that stays fails the test instead of hanging it.)
  for (let i = 0; i < 3000 && (await swtpmsNaming(socket)).includes(swtpm); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(!(await swtpmsNaming(socket)).includes(swtpm), 'swtpm outlived its QEMU');
  assert.equal(await dom.isActive(), false);
  await dom.create();
  const now = await swtpmsNaming(socket);
  assert.equal(now.length, 1);
  assert.notEqual(now[0], swtpm);
  await dom.destroy();
  assert.deepEqual(await swtpmsNaming(socket), []);
});
