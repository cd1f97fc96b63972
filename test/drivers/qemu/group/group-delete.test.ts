/**
 * Group delete on shut-off QEMU domains (real qcow2 images): every member's snapshot and
 * the group go in one commit, the tags after it; a failure before the commit and a kill
 * before it leave everything as it was, a kill after it is finished by the next open; a
 * plain delete of one member's snapshot is refused with the group's name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainUndefineFlags as U, SnapshotCreateFlags as C, SnapshotDeleteFlags as D } from '../../../../src/api/flags.js';
import { isVirError, VirErrorCode } from '../../../../src/api/errors.js';
import type { Domain } from '../../../../src/api/domain.js';
import type { QemuDriver } from '../../../../src/drivers/qemu/qemu-driver.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { runChildOp } from '../../../helpers/run-child-op.js';
import { defineMembers, groupWorld, type GroupWorld } from './group-world.js';

const NAMES = ['g0', 'g1'];
const GROUP = '<groupsnapshot><name>g</name></groupsnapshot>';

/** Two members with a snapshot 'base' each, then the group 'g'. */
async function setUp(env: QemuTestEnv, flags: number): Promise<Domain[]> {
  const doms = await defineMembers(env, 2, 2);
  for (const d of doms) await d.snapshotCreateXML('<domainsnapshot><name>base</name></domainsnapshot>', flags);
  await env.conn.groupSnapshotCreateXML(doms, GROUP, flags);
  return doms;
}

function tagsOf(world: GroupWorld): string[][] {
  return Object.values(world.chains).flatMap((c) => (c as Array<{ snapshots: string[] }>).map((l) => l.snapshots));
}

for (const [mode, flags] of [['internal', 0], ['external', C.DISK_ONLY]] as const) {
  test(`${mode}: group-snapshot delete removes every member's snapshot and the group, and nothing else`, async () => {
    const env = await openQemuTestEnv();
    try {
      await setUp(env, flags);
      await (await env.conn.groupSnapshotLookupByName('g')).delete();
      const world = await groupWorld(env, NAMES);
      assert.deepEqual(world.groups, []);
      for (const n of NAMES) assert.deepEqual(world.members[n]!.snapshots, ['base'], n);
      assert.ok(tagsOf(world).every((tags) => !tags.includes('g')), JSON.stringify(world.chains));
      assert.equal((env.conn.driver as QemuDriver).store.journal.listOpen().length, 0);
    } finally {
      await env.cleanup();
    }
  });
}

test('a failure at the commit, and a kill before it, leave every member and the group as they were; a kill after it is finished', async () => {
  for (const [how, point, after] of [
    ['error', 'group-delete.commit.before', false],
    ['crash', 'group-delete.journal.after', false],
    ['crash', 'group-delete.commit.before', false],
    ['crash', 'group-delete.commit.after', true],
  ] as const) {
    const env = await openQemuTestEnv();
    try {
      await setUp(env, 0);
      const before = await groupWorld(env, NAMES);
      if (how === 'error') {
        process.env.SNAPVIRT_FAILPOINTS = `${point}=error`;
        try {
          await assert.rejects((await env.conn.groupSnapshotLookupByName('g')).delete(), (e: unknown) => isVirError(e));
        } finally {
          delete process.env.SNAPVIRT_FAILPOINTS;
        }
      } else {
        await env.conn.close();
        const child = await runChildOp(env.stateDir, `${point}=crash`, ['group-delete', '-', 'g', '0']);
        assert.equal(child.signal, 'SIGKILL', child.stderr);
        await env.reopen();
      }
      const world = await groupWorld(env, NAMES);
      if (after) {
        assert.deepEqual(world.groups, []);
        for (const n of NAMES) assert.deepEqual(world.members[n]!.snapshots, ['base'], `${point}: ${n}`);
        assert.ok(tagsOf(world).every((tags) => !tags.includes('g')), `${point}: tags removed by recovery`);
      } else {
        assert.deepEqual(world, before, `${how} at ${point}`);
      }
      assert.equal((env.conn.driver as QemuDriver).store.journal.listOpen().length, 0);
    } finally {
      await env.cleanup();
    }
  }
});

test("deleting one member's group snapshot alone (or as a child) is refused, naming the group; nothing changes", async () => {
  const env = await openQemuTestEnv();
  try {
    const doms = await setUp(env, 0);
    const before = await groupWorld(env, NAMES);
    const refused = (e: unknown): boolean => isVirError(e) && e.code === VirErrorCode.OPERATION_INVALID &&
      e.message === "Requested operation is not valid: snapshot 'g' of domain 'g0' is a member of group snapshot 'g': delete the group with group-snapshot-delete g, or this domain's snapshot alone with --force";
    await assert.rejects((await doms[0]!.snapshotLookupByName('g')).delete(), refused);
    await assert.rejects((await doms[0]!.snapshotLookupByName('base')).delete(D.CHILDREN), refused);
    await assert.rejects((await doms[0]!.snapshotLookupByName('g')).delete(D.METADATA_ONLY), refused);
    assert.deepEqual(await groupWorld(env, NAMES), before);
    await assert.rejects(env.conn.groupSnapshotLookupByName('nope'),
      (e: unknown) => isVirError(e) && e.code === VirErrorCode.NO_DOMAIN_SNAPSHOT);
  } finally {
    await env.cleanup();
  }
});

for (const [mode, flags] of [['internal', 0], ['external', C.DISK_ONLY]] as const) {
  test(`${mode}: forced (LEAVE_GROUP), one member's snapshot is deleted and leaves the group; the last one takes the group with it`, async () => {
    const env = await openQemuTestEnv();
    try {
      const doms = await setUp(env, flags);
      await (await doms[0]!.snapshotLookupByName('g')).delete(D.LEAVE_GROUP);
      let world = await groupWorld(env, NAMES);
      assert.deepEqual(world.members.g0!.snapshots, ['base']);
      assert.deepEqual(world.members.g1!.snapshots.sort(), ['base', 'g']);
      const group = await env.conn.groupSnapshotLookupByName('g');
      assert.deepEqual((await group.listMemberSnapshots()).map((m) => m.getDomain().getName()), ['g1']);
      // As a child of the member's other snapshot, the last member goes: the group with it.
      await (await doms[1]!.snapshotLookupByName('base')).delete(D.CHILDREN | D.LEAVE_GROUP);
      world = await groupWorld(env, NAMES);
      assert.deepEqual(world.groups, []);
      assert.deepEqual(world.members.g1!.snapshots, []);
      assert.equal((env.conn.driver as QemuDriver).store.journal.listOpen().length, 0);
    } finally {
      await env.cleanup();
    }
  });
}

test('a member undefined since (with its snapshots) does not keep the group from being deleted', async () => {
  const env = await openQemuTestEnv();
  try {
    const doms = await setUp(env, 0);
    await doms[1]!.undefine(U.SNAPSHOTS_METADATA);
    await assert.rejects((await env.conn.groupSnapshotLookupByName('g')).revert(),
      (e: unknown) => isVirError(e) && e.code === VirErrorCode.OPERATION_INVALID && /is no longer defined/.test(e.message));
    await (await env.conn.groupSnapshotLookupByName('g')).delete();
    const world = await groupWorld(env, ['g0']);
    assert.deepEqual(world.groups, []);
    assert.deepEqual(world.members['g0']!.snapshots, ['base']);
  } finally {
    await env.cleanup();
  }
});
