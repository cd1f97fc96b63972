/**
 * Revert with a QEMU process involved: a running domain reverted to a disk-only snapshot
 * taken live and to an internal snapshot taken shut off (a new QEMU is prepared on the
 * snapshot's data and switched to, or the old one only stopped when the domain ends shut
 * off), and --running/--paused for a shut-off domain. Data is checked offline, through
 * the chains the domain ends on. Failures and crashes: revert-active-atomic.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainState, PausedReason, RunningReason, ShutoffReason, SnapshotCreateFlags as C, SnapshotRevertFlags as R } from '../../../../../src/api/flags.js';
import { VirError } from '../../../../../src/api/errors.js';
import { hasPattern } from '../../../../helpers/qemu-io.js';
import { guestWriteVia, makeRunningEnv, queryBlock } from '../../support/active-env.js';
import { diskSourcesIn } from '../../../../helpers/domain-fixture.js';

const MiB = 1 << 20;

/** The disk sources of the domain's persistent definition, in target order. */
test('running domain reverted to a live disk-only snapshot: stopped, or restarted with --running/--paused', async (t) => {
  const r = await makeRunningEnv(2);
  t.after(() => r.cleanup());
  const { dom } = r;
  await dom.create();
  for (const [i, d] of r.disks.entries()) await guestWriteVia(dom, d.target, 0x11 + i);
  const s1 = await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY);
  for (const [i, d] of r.disks.entries()) await guestWriteVia(dom, d.target, 0x51 + i);

  // No flag: a disk-only snapshot has no running state, so the domain ends shut off.
  await s1.revert();
  assert.deepEqual(await dom.getState(), { state: DomainState.SHUTOFF, reason: ShutoffReason.FROM_SNAPSHOT });
  let disks = await diskSourcesIn(await dom.getXMLDesc(2));
  for (const [i, path] of disks.entries()) {
    assert.ok(await hasPattern(path, 'qcow2', 0x11 + i, 0, MiB), `${path} shows the snapshot's data`);
  }

  // --running: restarted on the reverted disks, reason "from snapshot".
  await dom.create();
  for (const [i, d] of r.disks.entries()) await guestWriteVia(dom, d.target, 0x71 + i);
  await s1.revert(R.RUNNING);
  assert.deepEqual(await dom.getState(), { state: DomainState.RUNNING, reason: RunningReason.FROM_SNAPSHOT });
  disks = await diskSourcesIn(await dom.getXMLDesc(2));
  assert.deepEqual((await queryBlock(dom)).map((b) => b.file), disks);
  await s1.revert(R.PAUSED);
  assert.deepEqual(await dom.getState(), { state: DomainState.PAUSED, reason: PausedReason.FROM_SNAPSHOT });
  disks = await diskSourcesIn(await dom.getXMLDesc(2));
  await dom.destroy();
  for (const [i, path] of disks.entries()) assert.ok(await hasPattern(path, 'qcow2', 0x11 + i, 0, MiB), path);

  await assert.rejects(s1.revert(R.RUNNING | R.PAUSED), (e: unknown) => e instanceof VirError);
});

test('running domain reverted to an internal snapshot taken while shut off; --paused on a shut-off domain', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom } = r;
  await dom.create();
  await guestWriteVia(dom, 'vda', 0x21);
  await dom.destroy();
  const off = await dom.snapshotCreateXML('<domainsnapshot><name>off</name></domainsnapshot>');
  assert.match(await off.getXMLDesc(), /<state>shutoff<\/state>/);
  await dom.create();
  await guestWriteVia(dom, 'vda', 0x61);

  await off.revert(R.RUNNING);
  assert.deepEqual(await dom.getState(), { state: DomainState.RUNNING, reason: RunningReason.FROM_SNAPSHOT });
  await dom.destroy();
  const [path] = await diskSourcesIn(await dom.getXMLDesc(2));
  assert.ok(await hasPattern(path!, 'qcow2', 0x21, 0, MiB), 'the snapshot data, not the later write');

  // A shut-off domain with --paused is started paused after the revert.
  await off.revert(R.PAUSED);
  assert.deepEqual(await dom.getState(), { state: DomainState.PAUSED, reason: PausedReason.FROM_SNAPSHOT });
  assert.equal(await dom.isActive(), true);
});
