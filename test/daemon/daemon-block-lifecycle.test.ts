/**
 * The block and lifecycle procedures through snapvirtd, driven by real virsh on a running
 * TCG domain: blockcommit --active --pivot --verbose, blockpull --wait, blockjob --info,
 * domblkinfo, reboot, reset, autostart and domrename print what snapvirt's CLI prints for
 * the same commands, and python3-libvirt makes one block call and one lifecycle call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SnapshotCreateFlags as C } from '../../src/api/flags.js';
import { makeRunningEnv, queryBlock, type RunningEnv } from '../drivers/qemu/support/active-env.js';
import { runCommand, snapvirtCommand, type Outcome } from '../helpers/run-command.js';
import { startSnapvirtd } from '../helpers/snapvirtd.js';

const snapXml = (name: string, path: string): string =>
  `<domainsnapshot><name>${name}</name><disks><disk name='vda' snapshot='external'><source file='${path}'/></disk></disks></domainsnapshot>`;

function cli(r: RunningEnv, args: string[]): Promise<Outcome> {
  return snapvirtCommand(['-c', 'qemu:///session', ...args], { SNAPVIRT_STATE_DIR: r.env.stateDir, SNAPVIRT_QEMU_ACCEL: 'tcg' });
}

async function daemonFor(r: RunningEnv, t: { after(fn: () => Promise<unknown>): void }): Promise<string> {
  const daemon = await startSnapvirtd(join(r.env.imageDir, '..'), { SNAPVIRT_STATE_DIR: r.env.stateDir, SNAPVIRT_QEMU_ACCEL: 'tcg' });
  t.after(() => daemon.stop());
  return `qemu+unix:///session?socket=${daemon.socket}`;
}

const virsh = (uri: string, args: string[]): Promise<Outcome> => runCommand('virsh', ['-c', uri, ...args]);

/** A running one-disk domain with external overlays named `layers` on vda, and a snapvirtd on its state. */
async function runningWithLayers(t: { after(fn: () => Promise<unknown>): void }, layers: string[]): Promise<{ r: RunningEnv; base: string; uri: string }> {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const base = r.disks[0]!.path;
  await r.dom.create();
  for (const name of layers) await r.dom.snapshotCreateXML(snapXml(name, base.replace(/\.qcow2$/, `.${name}`)), C.DISK_ONLY | C.NO_METADATA);
  await r.env.conn.close();
  return { r, base, uri: await daemonFor(r, t) };
}

test('virsh blockcommit, blockpull, blockjob --info and domblkinfo through snapvirtd print what the CLI prints', async (t) => {
  const { r, base, uri } = await runningWithLayers(t, ['a', 'b']);

  const viaCli = await cli(r, ['blockjob', 'vm', 'vda', '--info']);
  let out = await virsh(uri, ['blockjob', 'vm', 'vda', '--info']);
  assert.deepEqual([out.code, out.stdout, out.stderr], [0, 'No current block job for vda\n', '']);
  assert.equal(out.stdout, viaCli.stdout);

  const infoCli = await cli(r, ['domblkinfo', 'vm', 'vda']);
  out = await virsh(uri, ['domblkinfo', 'vm', 'vda']);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^Capacity: +\d+\nAllocation: +\d+\nPhysical: +\d+\n\n$/);
  assert.equal(out.stdout, infoCli.stdout);

  out = await virsh(uri, ['blockcommit', 'vm', 'vda', '--active', '--pivot', '--verbose']);
  assert.deepEqual([out.code, out.stdout], [0, '\nSuccessfully pivoted\n'], out.stderr);
  assert.match(out.stderr, /\rBlock commit: \[100 %\]$/);
  let conn = await r.env.reopen();
  assert.deepEqual((await queryBlock(await conn.domainLookupByName('vm'))).map((b) => [b.file, b.depth]), [[base, 0]]);
  const c = base.replace(/\.qcow2$/, '.c');
  await (await conn.domainLookupByName('vm')).snapshotCreateXML(snapXml('c', c), C.DISK_ONLY | C.NO_METADATA);
  await conn.close();

  out = await virsh(uri, ['blockpull', 'vm', 'vda', '--wait']);
  assert.deepEqual([out.code, out.stdout], [0, '\nPull complete\n'], out.stderr);
  conn = await r.env.reopen();
  assert.deepEqual((await queryBlock(await conn.domainLookupByName('vm'))).map((b) => [b.file, b.depth]), [[c, 0]]);
  const d = base.replace(/\.qcow2$/, '.d');
  const e = base.replace(/\.qcow2$/, '.e');
  await (await conn.domainLookupByName('vm')).snapshotCreateXML(snapXml('d', d), C.DISK_ONLY | C.NO_METADATA);
  await (await conn.domainLookupByName('vm')).snapshotCreateXML(snapXml('e', e), C.DISK_ONLY | C.NO_METADATA);
  await conn.close();

  out = await virsh(uri, ['blockcommit', 'vm', 'vda', '--top', d, '--wait']);
  assert.deepEqual([out.code, out.stdout], [0, '\nCommit complete\n'], out.stderr);
  // Without --wait: virsh's "started" line (the job has ended inside the call all the same).
  out = await virsh(uri, ['blockpull', 'vm', 'vda']);
  assert.deepEqual([out.code, out.stdout], [0, 'Block Pull started\n'], out.stderr);
  conn = await r.env.reopen();
  assert.deepEqual((await queryBlock(await conn.domainLookupByName('vm'))).map((b) => [b.file, b.depth]), [[e, 0]]);
  await conn.close();

  // A disk the domain does not have: libvirt's error, through the wire.
  const missingCli = await cli(r, ['domblkinfo', 'vm', 'vdz']);
  out = await virsh(uri, ['domblkinfo', 'vm', 'vdz']);
  assert.equal(out.code, 1);
  assert.match(out.stderr, /vdz/);
  assert.equal(out.stderr, missingCli.stderr);

  // python3-libvirt: one block call.
  const py = await runCommand('/usr/bin/python3', ['-c', [
    'import libvirt, sys',
    `c = libvirt.open(${JSON.stringify(uri)})`,
    "d = c.lookupByName('vm')",
    "print(d.blockJobInfo('vda', 0))",
    "cap, alloc, phys = d.blockInfo('vda')",
    'print(cap > 0, alloc > 0, phys > 0)',
  ].join('\n')]);
  assert.deepEqual([py.code, py.stdout], [0, '{}\nTrue True True\n'], py.stderr);
});

test('virsh reboot, reset, autostart and domrename through snapvirtd print what the CLI prints', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  await r.dom.create();
  await r.env.conn.close();
  const uri = await daemonFor(r, t);

  for (const [args, expected] of [
    [['reset', 'vm'], "Domain 'vm' was reset\n\n"],
    [['autostart', 'vm'], "Domain 'vm' marked as autostarted\n\n"],
    [['autostart', 'vm', '--disable'], "Domain 'vm' unmarked as autostarted\n\n"],
  ] as const) {
    const viaCli = await cli(r, [...args]);
    const out = await virsh(uri, [...args]);
    assert.deepEqual([out.code, out.stdout, out.stderr], [0, expected, ''], args.join(' '));
    assert.equal(out.stdout, viaCli.stdout, args.join(' '));
  }
  let out = await virsh(uri, ['autostart', 'vm']);
  assert.equal(out.code, 0, out.stderr);
  out = await virsh(uri, ['dominfo', 'vm']);
  assert.match(out.stdout, /^Autostart: +enable$/m);
  out = await virsh(uri, ['reboot', 'vm']);
  assert.deepEqual([out.code, out.stdout, out.stderr], [0, "Domain 'vm' is being rebooted\n\n", '']);

  // domrename refuses a running domain (libvirt's message) the same way both ways.
  const refusedCli = await cli(r, ['domrename', 'vm', 'vm2']);
  out = await virsh(uri, ['domrename', 'vm', 'vm2']);
  assert.equal(out.code, 1);
  assert.equal(out.stderr, refusedCli.stderr);
  assert.match(out.stderr, /^error: Requested operation is not valid: /);

  out = await virsh(uri, ['destroy', 'vm']);
  assert.equal(out.code, 0, out.stderr);
  out = await virsh(uri, ['domrename', 'vm', 'vm2']);
  assert.deepEqual([out.code, out.stdout, out.stderr], [0, 'Domain successfully renamed\n\n', '']);
  out = await virsh(uri, ['list', '--all', '--name']);
  assert.equal(out.stdout, 'vm2\n\n');

  // python3-libvirt: one lifecycle call (rename back), and autostart read back.
  const py = await runCommand('/usr/bin/python3', ['-c', [
    'import libvirt',
    `c = libvirt.open(${JSON.stringify(uri)})`,
    "d = c.lookupByName('vm2')",
    "d.rename('vm', 0)",
    "print(c.lookupByName('vm').autostart())",
  ].join('\n')]);
  assert.deepEqual([py.code, py.stdout], [0, '1\n'], py.stderr);
  const back = await cli(r, ['list', '--all', '--name']);
  assert.equal(back.stdout, 'vm\n\n');
});

test('snapvirt -c qemu+unix:// makes the same block and lifecycle calls through snapvirtd as virsh', async (t) => {
  const { r, base, uri } = await runningWithLayers(t, ['a']);
  const remote = (args: string[]): Promise<Outcome> => snapvirtCommand(['-c', uri, ...args]);

  for (const args of [['domblkinfo', 'vm', 'vda'], ['blockjob', 'vm', 'vda', '--info'], ['domblkinfo', 'vm', 'vdz'], ['reset', 'vm'], ['autostart', 'vm']]) {
    const viaVirsh = await virsh(uri, args);
    const viaRemote = await remote(args);
    assert.deepEqual([viaRemote.code, viaRemote.stdout, viaRemote.stderr], [viaVirsh.code, viaVirsh.stdout, viaVirsh.stderr], args.join(' '));
  }
  let out = await remote(['dominfo', 'vm']);
  assert.match(out.stdout, /^Autostart: +enable$/m);
  out = await remote(['blockcommit', 'vm', 'vda', '--pivot']);
  assert.deepEqual([out.code, out.stdout], [0, '\nSuccessfully pivoted\n'], out.stderr);
  const conn = await r.env.reopen();
  assert.deepEqual((await queryBlock(await conn.domainLookupByName('vm'))).map((b) => [b.file, b.depth]), [[base, 0]]);
  await conn.close();
  out = await remote(['reboot', 'vm']);
  assert.deepEqual([out.code, out.stdout], [0, "Domain 'vm' is being rebooted\n\n"], out.stderr);
  out = await remote(['destroy', 'vm']);
  assert.equal(out.code, 0, out.stderr);
  out = await remote(['domrename', 'vm', 'vm3']);
  assert.deepEqual([out.code, out.stdout], [0, 'Domain successfully renamed\n\n'], out.stderr);
  out = await virsh(uri, ['list', '--all', '--name']);
  assert.equal(out.stdout, 'vm3\n\n');
});
