/**
 * Group create killed (SIGKILL, a `crash` failpoint in a child process) at every point of
 * its protocol, each disk of each member included: the next open finishes it (after the
 * commit point) or undoes it (before), across both members at once, never one member
 * without the other. And an interrupted group is finished from either member: while the
 * first member is busy elsewhere, the second refuses to run (it is in an unfinished
 * group), and its next operation, once the first is free, finishes the group first.
 *
 * The lead's full crash suite (test/crash) is single-domain; this is the group's matrix.
 */
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { isVirError, VirErrorCode } from '../../../../src/api/errors.js';
import { acquireDomainLock } from '../../../../src/txn/index.js';
import type { QemuDriver } from '../../../../src/drivers/qemu/qemu-driver.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { runChildOp } from '../../../helpers/run-child-op.js';
import { defineMembers, groupWorld, type GroupWorld } from './group-world.js';

const NAMES = ['g0', 'g1'];
const XML = '<groupsnapshot><name>g</name></groupsnapshot>';
const DISKS = 4; // two members of two disks

/** The crash points: every phase, and each of the four disks as it finishes. */
const POINTS = [
  'group-create.journal.after',
  'group-create.prepare.step.before',
  ...Array.from({ length: DISKS }, (_, i) => `group-create.prepare.disk.after@${i + 1}`),
  'group-create.prepare.step.after',
  'group-create.commit.before',
  'group-create.commit.after',
];

/** The world after a clean group create on a copy of the same setup: what "wholly after" must equal. */
function assertAfter(world: GroupWorld, before: GroupWorld, flags: number): void {
  assert.deepEqual(world.groups, ['g']);
  for (const name of NAMES) {
    assert.deepEqual(world.members[name]!.snapshots, ['g'], name);
    if (flags & C.DISK_ONLY) {
      assert.deepEqual(world.members[name]!.sources, before.members[name]!.sources.map((p) => p.replace(/\.qcow2$/, '.g')));
    } else {
      for (const src of world.members[name]!.sources) assert.deepEqual((world.chains[src]![0] as { snapshots: string[] }).snapshots, ['g']);
    }
  }
}

async function crashAt(env: QemuTestEnv, point: string, flags: number): Promise<{ before: GroupWorld; after: GroupWorld }> {
  const before = await groupWorld(env, NAMES);
  await env.conn.close();
  const [name, at] = point.split('@');
  const result = await runChildOp(env.stateDir, `${name}=crash${at ? `@${at}` : ''}`, ['group-create', NAMES.join(','), XML, String(flags)]);
  assert.equal(result.signal, 'SIGKILL', `the child reached ${point}: ${result.stderr}`);
  await env.reopen(); // recovery
  return { before, after: await groupWorld(env, NAMES) };
}

for (const [mode, flags] of [['internal', 0], ['external', C.DISK_ONLY]] as const) {
  test(`${mode} group create killed at each of ${POINTS.length} points: the next open leaves both members wholly before or wholly after`, async () => {
    for (const point of POINTS) {
      const env = await openQemuTestEnv();
      try {
        await defineMembers(env, 2, 2);
        const { before, after } = await crashAt(env, point, flags);
        if (point.endsWith('commit.after')) assertAfter(after, before, flags);
        else assert.deepEqual(after, before, `rolled back after a crash at ${point}`);
        // Nothing open is left behind.
        assert.equal((env.conn.driver as QemuDriver).store.journal.listOpen().length, 0, point);
      } finally {
        await env.cleanup();
      }
    }
  });
}

test('an interrupted group is finished from its second member once the first is free, and blocks that member until then', async () => {
  const env = await openQemuTestEnv();
  try {
    const doms = await defineMembers(env, 2, 2);
    const before = await groupWorld(env, NAMES);
    const lead = [...doms].sort((a, b) => a.handle.uuid.localeCompare(b.handle.uuid));
    const driver = (): QemuDriver => env.conn.driver as QemuDriver;
    // The first member (lowest UUID) is busy while the next process opens: recovery must leave the group.
    await env.conn.close();
    const crashed = await runChildOp(env.stateDir, 'group-create.prepare.step.after=crash', ['group-create', NAMES.join(','), XML, String(C.DISK_ONLY)]);
    assert.equal(crashed.signal, 'SIGKILL');
    const lockDir = join(env.stateDir, 'locks'); // the txn context's (no open: that would recover)
    const busy = await acquireDomainLock(lockDir, lead[0]!.handle.uuid, 'test holds the first member');
    try {
      await env.reopen();
      assert.equal(driver().store.journal.listOpen().length, 1, 'left for later: its first member is busy');
      const second = await env.conn.domainLookupByName(lead[1]!.getName());
      await assert.rejects(second.snapshotCreateXML('<domainsnapshot><name>s</name></domainsnapshot>', C.DISK_ONLY),
        (e: unknown) => isVirError(e) && e.code === VirErrorCode.OPERATION_INVALID &&
          e.message === `Requested operation is not valid: domain '${lead[1]!.getName()}' has an interrupted operation that was not recovered`);
    } finally {
      busy.release();
    }
    // Now the second member's own operation finishes the group (rolled back) first, then runs.
    const second = await env.conn.domainLookupByName(lead[1]!.getName());
    await second.snapshotCreateXML('<domainsnapshot><name>s</name></domainsnapshot>', C.DISK_ONLY);
    assert.equal(driver().store.journal.listOpen().length, 0);
    const world = await groupWorld(env, NAMES);
    assert.deepEqual(world.groups, []);
    assert.deepEqual(world.members[lead[0]!.getName()], before.members[lead[0]!.getName()]);
    assert.deepEqual(world.members[lead[1]!.getName()]!.snapshots, ['s']);
  } finally {
    await env.cleanup();
  }
});
