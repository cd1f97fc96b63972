/**
 * Group operations beside other operations on their members, each in its own process
 * (real qcow2 images): a group frozen holding its members' locks while a second group
 * over the same members, given in the opposite order, or a single domain's snapshot of a
 * member runs. Nothing hangs: the other operation waits its turn and both finish, or,
 * told not to wait, fails with libvirt's lock error and leaves nothing behind; the journal
 * is closed and every member holds exactly the snapshots that succeeded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QemuDriver } from '../../../../src/drivers/qemu/qemu-driver.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { runChildOp, type ChildResult } from '../../../helpers/run-child-op.js';
import { startChildOpStoppedAt } from '../../../helpers/stoppable-child-op.js';
import { defineMembers, groupWorld } from './group-world.js';

const NAMES = ['g0', 'g1'];
const group = (name: string): string => `<groupsnapshot><name>${name}</name></groupsnapshot>`;
const BUSY = /Timed out during operation: cannot acquire state change lock/;

/** Runs a child operation that does not wait for a held lock (SNAPVIRT_LOCK_TIMEOUT_MS=0). */
async function runWithoutWaiting(env: QemuTestEnv, args: string[]): Promise<ChildResult> {
  process.env.SNAPVIRT_LOCK_TIMEOUT_MS = '0';
  try {
    return await runChildOp(env.stateDir, '', args);
  } finally {
    delete process.env.SNAPVIRT_LOCK_TIMEOUT_MS;
  }
}

/** The journal closed, and each member holding exactly `snapshots`; `groups` the group list. */
async function assertState(env: QemuTestEnv, snapshots: Record<string, string[]>, groups: string[]): Promise<void> {
  await env.reopen();
  assert.equal((env.conn.driver as QemuDriver).store.journal.listOpen().length, 0);
  const world = await groupWorld(env, NAMES);
  for (const n of NAMES) assert.deepEqual(world.members[n]!.snapshots, snapshots[n], n);
  assert.deepEqual(world.groups, groups);
}

// The second operation: a group over the same members in the opposite order, or one member's own snapshot.
const SECOND: [string, string[], Record<string, string[]>, string[]][] = [
  ['a second group, its members given in the opposite order', ['group-create', 'g0,g1', group('b'), '0'],
    { g0: ['a', 'b'], g1: ['a', 'b'] }, ['a', 'b']],
  ['a single snapshot of a member', ['create', 'g0', '<domainsnapshot><name>s</name></domainsnapshot>', '0'],
    { g0: ['a', 's'], g1: ['a'] }, ['a']],
];

for (const [what, args, after, groups] of SECOND) {
  test(`a group holding its members' locks, and ${what}: it waits, and both finish`, async () => {
    const env = await openQemuTestEnv();
    try {
      await defineMembers(env, 2, 1);
      await env.conn.close();
      // Frozen once journaled: both members' locks held.
      const first = await startChildOpStoppedAt(env.stateDir, 'group-create.journal.after', ['group-create', 'g1,g0', group('a'), '0']);
      const second = runChildOp(env.stateDir, '', args);
      const firstEnd = await first.resume();
      const secondEnd = await second;
      assert.deepEqual([firstEnd.code, secondEnd.code], [0, 0], `${firstEnd.stderr}${secondEnd.stderr}`);
      await assertState(env, after, groups);
    } finally {
      await env.cleanup();
    }
  });

  test(`a group holding its members' locks, and ${what} that does not wait: a clean lock error, nothing of it left`, async () => {
    const env = await openQemuTestEnv();
    try {
      await defineMembers(env, 2, 1);
      await env.conn.close();
      const first = await startChildOpStoppedAt(env.stateDir, 'group-create.journal.after', ['group-create', 'g1,g0', group('a'), '0']);
      const second = await runWithoutWaiting(env, args);
      assert.equal(second.code, 1);
      assert.match(second.stderr, BUSY);
      const firstEnd = await first.resume();
      assert.equal(firstEnd.code, 0, firstEnd.stderr);
      await assertState(env, { g0: ['a'], g1: ['a'] }, ['a']);
    } finally {
      await env.cleanup();
    }
  });
}

test('a member\'s own snapshot holding its lock, and a group over it: the group waits, and both finish', async () => {
  const env = await openQemuTestEnv();
  try {
    await defineMembers(env, 2, 1);
    await env.conn.close();
    const single = await startChildOpStoppedAt(env.stateDir, 'create.journal.after',
      ['create', 'g1', '<domainsnapshot><name>s</name></domainsnapshot>', '0']);
    const grouped = runChildOp(env.stateDir, '', ['group-create', 'g1,g0', group('a'), '0']);
    const singleEnd = await single.resume();
    const groupEnd = await grouped;
    assert.deepEqual([singleEnd.code, groupEnd.code], [0, 0], `${singleEnd.stderr}${groupEnd.stderr}`);
    await assertState(env, { g0: ['a'], g1: ['a', 's'] }, ['a']);
  } finally {
    await env.cleanup();
  }
});
