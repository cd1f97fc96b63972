/**
 * QEMU dying in the middle of a live operation while snapvirt itself survives: the
 * snapvirt process is frozen at a failpoint (`stop`), its QEMU is SIGKILLed, and the
 * process carries on against a dead monitor. Whatever the point, the result is wholly
 * before or wholly after, the domain shows as crashed, and the data the guest had flushed
 * is where the metadata says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Domain } from '../../../src/api/domain.js';
import { DomainState, SnapshotCreateFlags as C, ShutoffReason } from '../../../src/api/flags.js';
import { runtimeDirFor } from '../../../src/drivers/qemu/domain/active-runtime.js';
import { openEntries } from '../../../src/txn/index.js';
import type { QemuDriver } from '../../../src/drivers/qemu/qemu-driver.js';
import { hasPattern } from '../../helpers/qemu-io.js';
import { waitUntilAllThreadsExited } from '../../helpers/process-state.js';
import { startChildOpStoppedAt } from '../../helpers/stoppable-child-op.js';
import { diskSourcesIn } from '../../helpers/domain-fixture.js';
import { guestWriteVia, makeRunningEnv, type RunningEnv } from './support/active-env.js';

const run = promisify(execFile);
const K64 = 64 * 1024;

/** Writes pattern `p + i` at slot `slot` of every disk and flushes it, as a guest's fsync would. */
async function writeAndFlush(r: RunningEnv, p: number, slot: number): Promise<void> {
  for (const [i, d] of r.disks.entries()) {
    await guestWriteVia(r.dom, d.target, p + i, slot * K64, '64k');
    await r.dom.qemuMonitorCommand(`qemu-io -d /machine/peripheral/disk-${d.target}/virtio-backend "flush"`, 1);
  }
}

/** SIGKILLs the domain's QEMU and waits until it is gone (not merely signalled). */
async function killQemu(r: RunningEnv): Promise<void> {
  const pid = Number((await readFile(join(runtimeDirFor(r.env.stateDir, r.dom.getUUIDString()), 'qemu.pid'), 'utf8')).trim());
  process.kill(pid, 'SIGKILL');
  await waitUntilAllThreadsExited(pid);
}

/** The chain of `path` as file names, from the top down. */
async function chainFiles(path: string): Promise<string[]> {
  const info = JSON.parse((await run('qemu-img', ['info', '-U', '--output=json', '--backing-chain', path])).stdout) as { filename: string }[];
  return info.map((i) => i.filename);
}

/** What must hold in every case: the domain crashed, no open journal entry, chains sound. */
async function assertCrashedAndClosed(r: RunningEnv): Promise<Domain> {
  const conn = await r.env.reopen();
  const dom = await conn.domainLookupByName('vm');
  assert.deepEqual(await dom.getState(), { state: DomainState.SHUTOFF, reason: ShutoffReason.CRASHED });
  assert.equal(openEntries((conn.driver as QemuDriver).store).length, 0);
  for (const src of diskSourcesIn(await dom.getXMLDesc())) {
    const check = JSON.parse((await run('qemu-img', ['check', '-U', '--output=json', src])).stdout) as { 'check-errors': number };
    assert.equal(check['check-errors'], 0, src);
  }
  return dom;
}

test('QEMU dies before the switch of a live snapshot: wholly before, overlays removed, clear error', async (t) => {
  const r = await makeRunningEnv(2);
  t.after(() => r.cleanup());
  await r.dom.create();
  await writeAndFlush(r, 0x41, 0);
  const child = await startChildOpStoppedAt(r.env.stateDir, 'live-create.switch.before',
    ['create', 'vm', '<domainsnapshot><name>s1</name></domainsnapshot>', String(C.DISK_ONLY)]);
  await killQemu(r);
  const ended = await child.resume();
  assert.equal(ended.code, 1, ended.stderr);
  // libvirt's words for a monitor command whose QEMU died (qemuDomainObjExitMonitor).
  assert.match(ended.stderr, /^VirError: operation failed: domain is not running$/m);
  const dom = await assertCrashedAndClosed(r);
  assert.deepEqual(await dom.snapshotListNames(), []);
  assert.deepEqual((await readdir(r.env.imageDir)).sort(), ['vm-0.qcow2', 'vm-1.qcow2']);
  assert.deepEqual(diskSourcesIn(await dom.getXMLDesc()), r.disks.map((d) => d.path));
  for (const [i, d] of r.disks.entries()) assert.ok(await hasPattern(d.path, 'qcow2', 0x41 + i, 0, K64));
});

test('QEMU dies just after the switch of a live snapshot: wholly after, the domain restarts on the overlays', async (t) => {
  const r = await makeRunningEnv(2);
  t.after(() => r.cleanup());
  await r.dom.create();
  await writeAndFlush(r, 0x51, 0);
  const child = await startChildOpStoppedAt(r.env.stateDir, 'live-create.switch.after',
    ['create', 'vm', '<domainsnapshot><name>s1</name></domainsnapshot>', String(C.DISK_ONLY)]);
  await killQemu(r);
  const ended = await child.resume();
  assert.equal(ended.code, 0, ended.stderr);
  const dom = await assertCrashedAndClosed(r);
  assert.deepEqual(await dom.snapshotListNames(), ['s1']);
  const overlays = r.disks.map((d) => d.path.replace(/\.qcow2$/, '.s1'));
  assert.deepEqual(diskSourcesIn(await dom.getXMLDesc()), overlays);
  for (const [i, overlay] of overlays.entries()) {
    assert.deepEqual(await chainFiles(overlay), [overlay, r.disks[i]!.path]);
    assert.ok(await hasPattern(overlay, 'qcow2', 0x51 + i, 0, K64));
  }
});

test('QEMU dies between the per-disk merges of a live delete: the merge is finished offline, data intact', async (t) => {
  const r = await makeRunningEnv(2);
  t.after(() => r.cleanup());
  await r.dom.create();
  await writeAndFlush(r, 0x61, 0);
  await r.dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY);
  await writeAndFlush(r, 0x71, 1);
  const child = await startChildOpStoppedAt(r.env.stateDir, 'live-delete.merge.after', ['delete', 'vm', 's1', '0']);
  await killQemu(r);
  const ended = await child.resume();
  // The metadata change was committed before the merges, so the delete succeeded. The
  // second merge is post-commit work: this process finishes it offline with qemu-img, or,
  // when QEMU died under a monitor command, warns and leaves it to the next open.
  assert.equal(ended.code, 0, ended.stderr);
  assert.match(ended.stderr, /^(snapvirt: warning: live-delete on domain 'vm' is done, but its post-commit work did not finish: .*\n)*$/);
  const dom = await assertCrashedAndClosed(r);
  assert.deepEqual(await dom.snapshotListNames(), []);
  assert.deepEqual(diskSourcesIn(await dom.getXMLDesc()), r.disks.map((d) => d.path));
  assert.deepEqual((await readdir(r.env.imageDir)).sort(), ['vm-0.qcow2', 'vm-1.qcow2']);
  for (const [i, d] of r.disks.entries()) {
    assert.deepEqual(await chainFiles(d.path), [d.path]);
    assert.ok(await hasPattern(d.path, 'qcow2', 0x61 + i, 0, K64));
    assert.ok(await hasPattern(d.path, 'qcow2', 0x71 + i, K64, K64));
  }
});
