/**
 * Group create on shut-off QEMU domains through the public API, on real qcow2 images:
 * every member gets its snapshot (internal tags, or with DISK_ONLY external overlays),
 * the group is recorded with its members in the same commit, under one journal entry;
 * a failure on the last disk of the last member, or a member that fails its own checks,
 * leaves every member, file and chain as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { groupOfSnapshot } from '../../../../src/api/group-snapshot.js';
import { isVirError, VirErrorCode } from '../../../../src/api/errors.js';
import type { QemuDriver } from '../../../../src/drivers/qemu/qemu-driver.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';
import { chainOf } from '../../../helpers/disk-state.js';
import { defineMembers, groupWorld } from './group-world.js';

const NAMES = ['g0', 'g1'];
const groupXml = (name: string, description?: string): string =>
  `<groupsnapshot><name>${name}</name>${description ? `<description>${description}</description>` : ''}</groupsnapshot>`;

function withFailpoints<T>(spec: string, fn: () => Promise<T>): Promise<T> {
  process.env.SNAPVIRT_FAILPOINTS = spec;
  return fn().finally(() => { delete process.env.SNAPVIRT_FAILPOINTS; });
}

test('an internal group snapshot of two shut-off domains: each member has the snapshot, a tag in every disk, and the group names them', async () => {
  const env = await openQemuTestEnv();
  try {
    const doms = await defineMembers(env, 2, 2);
    const journalBefore = (env.conn.driver as QemuDriver).store.journal.listRecent(1000).length;
    const group = await env.conn.groupSnapshotCreateXML(doms, groupXml('g', 'app and db'));
    assert.equal(group.getName(), 'g');
    const world = await groupWorld(env, NAMES);
    for (const name of NAMES) {
      assert.deepEqual(world.members[name]!.snapshots, ['g']);
      assert.equal(world.members[name]!.current, 'g');
      for (const src of world.members[name]!.sources) {
        assert.deepEqual((world.chains[src]![0] as { snapshots: string[] }).snapshots, ['g'], `tag in ${src}`);
      }
    }
    assert.deepEqual(world.groups, ['g']);
    // One journal entry for the whole group, listing the second member.
    const entries = (env.conn.driver as QemuDriver).store.journal.listRecent(1000);
    assert.equal(entries.length - journalBefore, 1);
    assert.equal(entries[0]!.kind, 'group-create');
    const xml = await (await env.conn.groupSnapshotLookupByName('g')).getXMLDesc();
    assert.match(xml, /^<groupsnapshot>\n  <name>g<\/name>\n  <description>app and db<\/description>\n  <state>shutoff<\/state>\n  <creationTime>\d+<\/creationTime>\n  <members>/);
    for (const d of doms) assert.ok(xml.includes(`<domain name='${d.getName()}' uuid='${await d.getUUIDString()}'/>`), xml);
    const members = await group.listMemberSnapshots();
    assert.deepEqual(members.map((m) => m.getName()), ['g', 'g']);
    assert.deepEqual(members.map((m) => m.getDomain().getName()).sort(), NAMES);
    const snap = await doms[0]!.snapshotLookupByName('g');
    assert.equal((await groupOfSnapshot(snap))?.getName(), 'g');
    // The member's snapshot XML carries the group's description and creation time.
    const snapXml = await snap.getXMLDesc();
    assert.match(snapXml, /<description>app and db<\/description>/);
    assert.equal(snapXml.match(/<creationTime>(\d+)</)![1], xml.match(/<creationTime>(\d+)</)![1]);
  } finally {
    await env.cleanup();
  }
});

test('a disk-only group snapshot puts every disk of every member on a new overlay', async () => {
  const env = await openQemuTestEnv();
  try {
    const doms = await defineMembers(env, 2, 2);
    const before = await groupWorld(env, NAMES);
    await env.conn.groupSnapshotCreateXML(doms, groupXml('d'), C.DISK_ONLY);
    const after = await groupWorld(env, NAMES);
    for (const name of NAMES) {
      assert.deepEqual(after.members[name]!.snapshots, ['d']);
      const [s0, s1] = after.members[name]!.sources;
      assert.deepEqual([s0, s1], before.members[name]!.sources.map((p) => p.replace(/\.qcow2$/, '.d')));
      const chain = await chainOf(s0!, 'qcow2') as Array<{ backing?: string }>;
      assert.equal(chain[0]!.backing, before.members[name]!.sources[0]);
    }
  } finally {
    await env.cleanup();
  }
});

for (const [mode, flags, disks] of [['internal', 0, 4], ['external', C.DISK_ONLY, 4]] as const) {
  test(`${mode}: a failure once the last disk of the last member is done leaves every member, file and chain as before`, async () => {
    const env = await openQemuTestEnv();
    try {
      const doms = await defineMembers(env, 2, 2);
      const before = await groupWorld(env, NAMES);
      await assert.rejects(
        withFailpoints(`group-create.prepare.disk.after=error@${disks}`, () => env.conn.groupSnapshotCreateXML(doms, groupXml('g'), flags)),
        (e: unknown) => isVirError(e) && e.message === 'internal error: failpoint group-create.prepare.disk.after',
      );
      assert.deepEqual(await groupWorld(env, NAMES), before);
      // Nothing left for recovery either: a new process sees the same world.
      await env.reopen();
      assert.deepEqual(await groupWorld(env, NAMES), before);
    } finally {
      await env.cleanup();
    }
  });
}

test('a member that fails its own checks (an overlay file already there) stops the group before any member changes', async () => {
  const env = await openQemuTestEnv();
  try {
    const doms = await defineMembers(env, 2, 2);
    const { writeFile } = await import('node:fs/promises');
    const g1 = await groupWorld(env, ['g1']);
    await writeFile(g1.members['g1']!.sources[1]!.replace(/\.qcow2$/, '.g'), 'not ours');
    const before = await groupWorld(env, NAMES);
    await assert.rejects(env.conn.groupSnapshotCreateXML(doms, groupXml('g'), C.DISK_ONLY),
      (e: unknown) => isVirError(e) && e.code === VirErrorCode.CONFIG_UNSUPPORTED && /already exists/.test(e.message));
    assert.deepEqual(await groupWorld(env, NAMES), before);
  } finally {
    await env.cleanup();
  }
});

test('refusals: a name taken by a group, a domain listed twice, no domain, unknown flags, a missing name', async () => {
  const env = await openQemuTestEnv();
  try {
    const doms = await defineMembers(env, 2, 1);
    await env.conn.groupSnapshotCreateXML(doms, groupXml('g'));
    const before = await groupWorld(env, NAMES);
    const refused = async (p: Promise<unknown>, code: number, message: string): Promise<void> => {
      await assert.rejects(p, (e: unknown) => isVirError(e) && e.code === code && e.message === message);
    };
    await refused(env.conn.groupSnapshotCreateXML(doms, groupXml('g')), VirErrorCode.OPERATION_FAILED,
      'operation failed: group snapshot g already exists');
    await refused(env.conn.groupSnapshotCreateXML([doms[0]!, doms[0]!], groupXml('h')), VirErrorCode.INVALID_ARG,
      "invalid argument: domain 'g0' is listed twice");
    await refused(env.conn.groupSnapshotCreateXML([], groupXml('h')), VirErrorCode.INVALID_ARG,
      'invalid argument: a group snapshot needs at least one domain');
    await refused(env.conn.groupSnapshotCreateXML(doms, groupXml('h'), C.HALT), VirErrorCode.INVALID_ARG,
      'invalid argument: unsupported flags (0x8) in function groupSnapshotCreateXML');
    await refused(env.conn.groupSnapshotCreateXML(doms, '<groupsnapshot/>'), VirErrorCode.XML_ERROR,
      'XML error: a group snapshot must have a name');
    await refused(env.conn.groupSnapshotLookupByName('nope'), VirErrorCode.NO_DOMAIN_SNAPSHOT,
      "Domain snapshot not found: no group snapshot with matching name 'nope'");
    assert.deepEqual(await groupWorld(env, NAMES), before);
  } finally {
    await env.cleanup();
  }
});
