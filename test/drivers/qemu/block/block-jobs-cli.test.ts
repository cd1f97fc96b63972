/**
 * The block commands through bin/snapvirt on a running domain (real QEMU, TCG): virsh's
 * output for blockcommit --active --pivot --verbose, blockpull --wait and blockjob --info
 * without a job; blockjob --info and --abort on a job snapvirt did not start (a
 * rate-limited block-stream started through the monitor); --delete removing the layers it
 * dropped, and refusing while a snapshot still needs one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { BlockCommitFlags as BC, SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { isVirError } from '../../../../src/api/errors.js';
import { snapvirtCommand, type Outcome } from '../../../helpers/run-command.js';
import { guestWriteVia, makeRunningEnv, queryBlock, type RunningEnv } from '../support/active-env.js';

const snapXml = (name: string, path: string): string =>
  `<domainsnapshot><name>${name}</name><disks><disk name='vda' snapshot='external'><source file='${path}'/></disk></disks></domainsnapshot>`;

function cli(r: RunningEnv, args: string[]): Promise<Outcome> {
  return snapvirtCommand(['-c', 'qemu:///session', ...args], { SNAPVIRT_STATE_DIR: r.env.stateDir, SNAPVIRT_QEMU_ACCEL: 'tcg' });
}

test('blockcommit --active --pivot --verbose, blockpull --wait and blockjob --info print what virsh prints', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, disks } = r;
  const base = disks[0]!.path;
  const c = base.replace(/\.qcow2$/, '.c');
  await dom.create();
  await dom.snapshotCreateXML(snapXml('a', base.replace(/\.qcow2$/, '.a')), C.DISK_ONLY | C.NO_METADATA);
  await dom.snapshotCreateXML(snapXml('b', base.replace(/\.qcow2$/, '.b')), C.DISK_ONLY | C.NO_METADATA);
  await r.env.conn.close();

  let out = await cli(r, ['blockjob', 'vm', 'vda', '--info']);
  assert.deepEqual([out.code, out.stdout, out.stderr], [0, 'No current block job for vda\n', '']);
  out = await cli(r, ['blockcommit', 'vm', 'vda', '--active']);
  assert.equal(out.code, 1);
  assert.match(out.stderr, /error: an active commit that does not pivot .* is not supported by snapvirt: use --pivot\n/);
  out = await cli(r, ['blockcommit', 'vm', 'vda', '--verbose']);
  assert.equal(out.stderr, 'error: --verbose requires at least one of --timeout, --wait, --pivot, or --keep-overlay\n');
  out = await cli(r, ['blockcommit', 'vm', 'vda', '--pivot', '--verbose']);
  assert.deepEqual([out.code, out.stdout], [0, '\nSuccessfully pivoted\n'], out.stderr);
  assert.match(out.stderr, /\rBlock commit: \[100 %\]$/);
  let conn = await r.env.reopen();
  assert.deepEqual((await queryBlock(await conn.domainLookupByName('vm'))).map((b) => [b.file, b.depth]), [[base, 0]]);
  await (await conn.domainLookupByName('vm')).snapshotCreateXML(snapXml('c', c), C.DISK_ONLY | C.NO_METADATA);
  await conn.close();
  out = await cli(r, ['blockpull', 'vm', 'vda', '--wait']);
  assert.deepEqual([out.code, out.stdout], [0, '\nPull complete\n'], out.stderr);
  conn = await r.env.reopen();
  assert.deepEqual((await queryBlock(await conn.domainLookupByName('vm'))).map((b) => [b.file, b.depth]), [[c, 0]]);
});

test('blockjob --info and --abort act on a job snapvirt did not start', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, disks } = r;
  const top = disks[0]!.path.replace(/\.qcow2$/, '.top');
  await dom.create();
  await guestWriteVia(dom, 'vda', 0x11, 0, '8M');
  await dom.snapshotCreateXML(snapXml('t', top), C.DISK_ONLY | C.NO_METADATA);
  const node = (await queryBlock(dom))[0]!.node;
  // 1 byte/s: the job stays running until it is cancelled. Its id is the disk's node name,
  // as a job libvirt or a script names after the device.
  await dom.qemuMonitorCommand(JSON.stringify({ execute: 'block-stream', arguments: { 'job-id': node, device: node, speed: 1 } }));
  const info = await dom.getBlockJobInfo('vda');
  assert.equal(info?.type, 1, 'a pull');
  await assert.rejects(dom.blockCommit('vda', null, null, 0, BC.ACTIVE), (e: unknown) =>
    isVirError(e) && e.code === 83 && e.message === "block copy still active: disk 'vda' already in active block job");
  await r.env.conn.close();
  let out = await cli(r, ['blockjob', 'vm', 'vda']);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, /^\rBlock Pull: \[ {0,2}\d+ %\]$/);
  assert.match(out.stdout, /^ {4}Bandwidth limit: 0 MiB\/s\n\n$|^\n\n$/);
  out = await cli(r, ['blockjob', 'vm', 'vda', '--abort']);
  assert.equal(out.code, 0, out.stderr);
  const conn = await r.env.reopen();
  const again = await conn.domainLookupByName('vm');
  assert.equal(await again.getBlockJobInfo('vda'), null, 'the job is gone');
  assert.deepEqual((await queryBlock(again)).map((b) => b.depth), [1], 'cancelled: the chain is as it was');
});

test('blockcommit --delete removes the layers it dropped, and refuses while a snapshot needs one', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, disks } = r;
  const base = disks[0]!.path;
  const mid = base.replace(/\.qcow2$/, '.mid');
  const top = base.replace(/\.qcow2$/, '.top');
  await dom.create();
  await dom.snapshotCreateXML(snapXml('m', mid), C.DISK_ONLY | C.NO_METADATA);
  await dom.snapshotCreateXML(snapXml('t', top), C.DISK_ONLY);
  // Snapshot t froze mid: committing mid away with --delete would take its disk.
  await assert.rejects(dom.blockCommit('vda', null, mid, 0, BC.DELETE), (e: unknown) =>
    isVirError(e) && e.message === `Requested operation is not valid: cannot commit '${mid}' into '${base}': snapshot 't' needs image '${base}'`);
  assert.ok(existsSync(mid));
  await (await dom.snapshotLookupByName('t')).delete(0x2 /* METADATA_ONLY */);
  await dom.blockCommit('vda', null, mid, 0, BC.DELETE);
  assert.ok(!existsSync(mid), 'the dropped layer is deleted');
  assert.deepEqual((await queryBlock(dom)).map((b) => [b.file, b.depth]), [[top, 1]]);
});
