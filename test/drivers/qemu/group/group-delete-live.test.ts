/**
 * Group delete with running members (real QEMU under TCG): every member's snapshot and the
 * group go in one commit; after it each running member's overlay is merged through its QEMU
 * (block-commit) and the shut-off member's with qemu-img, the guests running on with their
 * data. A failure at the commit leaves every member, file and block graph as before; a kill
 * before it is undone, one after it finished, by the next open.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainState, SnapshotCreateFlags as C, SnapshotDeleteFlags as D } from '../../../../src/api/flags.js';
import { isVirError } from '../../../../src/api/errors.js';
import type { Domain } from '../../../../src/api/domain.js';
import type { QemuDriver } from '../../../../src/drivers/qemu/qemu-driver.js';
import { makeImages, domainXml } from '../../../helpers/domain-fixture.js';
import { runChildOp } from '../../../helpers/run-child-op.js';
import { guestWriteVia, killAllQemu, queryBlock } from '../support/active-env.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { groupWorld } from './group-world.js';

const run = promisify(execFile);
const RUNNING = ['r0', 'r1'];
const NAMES = [...RUNNING, 'off'];
const XML = '<groupsnapshot><name>g</name></groupsnapshot>';
const NOW = 0x22;

/** Two running domains and a shut-off one, one disk each, in group g; the running guests write NOW after it. */
async function setUp(env: QemuTestEnv): Promise<void> {
  const doms: Domain[] = [];
  for (const name of NAMES) {
    const images = await makeImages(env.imageDir, name, ['qcow2'], 16 << 20);
    doms.push(await env.conn.domainDefineXML(domainXml(name, images)));
  }
  for (const d of doms.slice(0, 2)) await d.create();
  await env.conn.groupSnapshotCreateXML(doms, XML, C.DISK_ONLY);
  for (const d of doms.slice(0, 2)) {
    await guestWriteVia(d, 'vda', NOW);
    await d.qemuMonitorCommand('qemu-io -d /machine/peripheral/disk-vda/virtio-backend "flush"', 1);
  }
}

/** Whether the image the QEMU of running `name` has on vda (its whole chain) reads NOW; force-share, as the QEMU holds it. */
async function guestReadsNow(env: QemuTestEnv, name: string): Promise<boolean> {
  const file = (await queryBlock(await env.conn.domainLookupByName(name)))[0]!.file;
  return run('qemu-io', ['-r', '-U', '-f', 'qcow2', '-c', `read -P ${NOW} 0 1M`, file]).then(() => true, () => false);
}

async function blocks(env: QemuTestEnv): Promise<{ file: string; depth: number }[]> {
  return (await Promise.all(RUNNING.map(async (n) => queryBlock(await env.conn.domainLookupByName(n))))).map((b) => b[0]!);
}

async function states(env: QemuTestEnv): Promise<number[]> {
  return Promise.all(NAMES.map(async (n) => (await (await env.conn.domainLookupByName(n)).getState()).state));
}

/** Every member's snapshot and the group gone, every overlay merged away, the guests running on their data. */
async function assertDeleted(env: QemuTestEnv): Promise<void> {
  const world = await groupWorld(env, NAMES);
  assert.deepEqual(world.groups, []);
  for (const n of NAMES) assert.deepEqual(world.members[n]!.snapshots, [], n);
  for (const b of await blocks(env)) assert.deepEqual([b.file.endsWith('.g'), b.depth], [false, 0], b.file);
  assert.ok(!world.members['off']!.sources[0]!.endsWith('.g'));
  assert.ok(!world.files.some((f) => f.includes('.g')), world.files.join());
  for (const n of RUNNING) assert.ok(await guestReadsNow(env, n), n);
  assert.deepEqual(await states(env), [DomainState.RUNNING, DomainState.RUNNING, DomainState.SHUTOFF]);
}

test('deleting a group of running and shut-off members merges every member\'s overlay, the guests running', async () => {
  const env = await openQemuTestEnv();
  try {
    await setUp(env);
    for (const b of await blocks(env)) assert.ok(b.file.endsWith('.g'));
    await (await env.conn.groupSnapshotLookupByName('g')).delete();
    await assertDeleted(env);
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});

test('forced (LEAVE_GROUP), a running member\'s snapshot is merged away alone and leaves the group; the others keep it', async () => {
  const env = await openQemuTestEnv();
  try {
    await setUp(env);
    const r0 = await env.conn.domainLookupByName('r0');
    await assert.rejects((await r0.snapshotLookupByName('g')).delete(), (e: unknown) => isVirError(e) && /is a member of group snapshot 'g'/.test(e.message));
    await (await r0.snapshotLookupByName('g')).delete(D.LEAVE_GROUP);
    const world = await groupWorld(env, NAMES);
    assert.deepEqual(world.members.r0!.snapshots, []);
    for (const n of ['r1', 'off']) assert.deepEqual(world.members[n]!.snapshots, ['g'], n);
    const [b0, b1] = await blocks(env);
    assert.deepEqual([b0!.file.endsWith('.g'), b0!.depth, b1!.file.endsWith('.g')], [false, 0, true]);
    assert.ok(await guestReadsNow(env, 'r0'));
    const members = await (await env.conn.groupSnapshotLookupByName('g')).listMemberSnapshots();
    assert.deepEqual(members.map((m) => m.getDomain().getName()).sort(), ['off', 'r1']);
    assert.deepEqual(await states(env), [DomainState.RUNNING, DomainState.RUNNING, DomainState.SHUTOFF]);
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});

test('a failure at the commit leaves every member, file and block graph as before', async () => {
  const env = await openQemuTestEnv();
  try {
    await setUp(env);
    const before = await groupWorld(env, NAMES);
    const blocksBefore = await blocks(env);
    process.env.SNAPVIRT_FAILPOINTS = 'group-delete.commit.before=error';
    try {
      await assert.rejects((await env.conn.groupSnapshotLookupByName('g')).delete(), (e: unknown) => isVirError(e));
    } finally {
      delete process.env.SNAPVIRT_FAILPOINTS;
    }
    assert.deepEqual(await groupWorld(env, NAMES), before);
    assert.deepEqual(await blocks(env), blocksBefore);
    assert.deepEqual(await states(env), [DomainState.RUNNING, DomainState.RUNNING, DomainState.SHUTOFF]);
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});

for (const [point, after] of [['group-delete.commit.before', false], ['group-delete.commit.after', true]] as const) {
  test(`killed at ${point}: the next open leaves the group wholly ${after ? 'deleted, every overlay merged' : 'as before'}`, async () => {
    const env = await openQemuTestEnv();
    try {
      await setUp(env);
      const before = await groupWorld(env, NAMES);
      await env.conn.close();
      const child = await runChildOp(env.stateDir, `${point}=crash`, ['group-delete', '-', 'g', '0']);
      assert.equal(child.signal, 'SIGKILL', child.stderr);
      await env.reopen();
      assert.equal((env.conn.driver as QemuDriver).store.journal.listOpen().length, 0);
      if (after) await assertDeleted(env);
      else assert.deepEqual(await groupWorld(env, NAMES), before);
    } finally {
      await killAllQemu(env.stateDir);
      await env.cleanup();
    }
  });
}
