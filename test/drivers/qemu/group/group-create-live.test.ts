/**
 * Group create with running members (real QEMU under TCG): every disk of every running
 * member switches to a new overlay inside one window (all vCPUs stopped, one transaction
 * per QEMU), beside a shut-off member prepared with qemu-img, and the guests run again
 * after it. A failure at the switch, and a kill between two members' transactions, leave
 * all members as before or (the kill: recovery finishes the second transaction) as after;
 * an error between or after the members' transactions takes the switched ones back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainState, SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { isVirError } from '../../../../src/api/errors.js';
import type { Domain } from '../../../../src/api/domain.js';
import type { QemuDriver } from '../../../../src/drivers/qemu/qemu-driver.js';
import { makeImages, domainXml } from '../../../helpers/domain-fixture.js';
import { runChildOp } from '../../../helpers/run-child-op.js';
import { guestWriteVia, killAllQemu, queryBlock } from '../support/active-env.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { groupWorld } from './group-world.js';

const NAMES = ['r0', 'r1', 'off'];
const XML = '<groupsnapshot><name>g</name></groupsnapshot>';

/** Two running domains of two disks and one shut-off domain of one disk. */
async function setUp(env: QemuTestEnv): Promise<Domain[]> {
  const doms: Domain[] = [];
  for (const [name, disks] of [['r0', 2], ['r1', 2], ['off', 1]] as const) {
    const images = await makeImages(env.imageDir, name, Array.from({ length: disks }, () => 'qcow2' as const), 16 << 20);
    doms.push(await env.conn.domainDefineXML(domainXml(name, images)));
  }
  await doms[0]!.create();
  await doms[1]!.create();
  await guestWriteVia(doms[0]!, 'vda', 0x11);
  return doms;
}

async function states(env: QemuTestEnv): Promise<number[]> {
  return Promise.all(['r0', 'r1'].map(async (n) => (await (await env.conn.domainLookupByName(n)).getState()).state));
}

async function onOverlays(env: QemuTestEnv, name: string): Promise<boolean[]> {
  return (await queryBlock(await env.conn.domainLookupByName(name))).map((b) => b.file.endsWith('.g'));
}

test('running and shut-off members in one group: every disk on its overlay, the guests running again', async () => {
  const env = await openQemuTestEnv();
  try {
    const doms = await setUp(env);
    await env.conn.groupSnapshotCreateXML(doms, XML, C.DISK_ONLY);
    const world = await groupWorld(env, NAMES);
    for (const n of NAMES) assert.deepEqual(world.members[n]!.snapshots, ['g'], n);
    assert.deepEqual(await onOverlays(env, 'r0'), [true, true]);
    assert.deepEqual(await onOverlays(env, 'r1'), [true, true]);
    assert.ok(world.members['off']!.sources[0]!.endsWith('.g'));
    assert.deepEqual(await states(env), [DomainState.RUNNING, DomainState.RUNNING]);
    const group = await (await env.conn.groupSnapshotLookupByName('g')).getInfo();
    assert.equal(group.state, 'mixed');
    // The guest writes on after the snapshot, into its overlay.
    await guestWriteVia(doms[0]!, 'vda', 0x22);
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});

test('a paused member stays paused after the group create, and after a failed one; the running one runs', async () => {
  const env = await openQemuTestEnv();
  try {
    const doms = await setUp(env);
    await doms[1]!.suspend();
    process.env.SNAPVIRT_FAILPOINTS = 'group-create.member.switch.after=error@1';
    try {
      await assert.rejects(env.conn.groupSnapshotCreateXML(doms, XML, C.DISK_ONLY));
    } finally {
      delete process.env.SNAPVIRT_FAILPOINTS;
    }
    assert.deepEqual(await states(env), [DomainState.RUNNING, DomainState.PAUSED]);
    await env.conn.groupSnapshotCreateXML(doms, XML, C.DISK_ONLY);
    assert.deepEqual(await states(env), [DomainState.RUNNING, DomainState.PAUSED]);
    const reply = JSON.parse(await doms[1]!.qemuMonitorCommand('{"execute":"query-status"}')) as { return: { running: boolean } };
    assert.equal(reply.return.running, false);
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});

// A failure at the switch: before any transaction (every member prepared and stopped), or
// once a member's QEMU has switched (after the first transaction; after the last, before
// the switch is recorded; the second member's own transaction refused by QEMU on its last
// disk): the switched members' QEMUs are taken back onto their old images before the
// rollback, so nothing of the group is left, and the journal entry is closed.
for (const [spec, expected] of [
  ['group-create.switch.before=error', /failpoint group-create\.switch\.before/],
  ['group-create.member.switch.after=error@1', /failpoint group-create\.member\.switch\.after/],
  ['group-create.member.switch.after=error@2', /failpoint group-create\.member\.switch\.after/],
  ['group-create.member.transaction.abort=error@2', /Transaction aborted/i],
] as const) {
  test(`a failure at the switch (${spec}) leaves every member, file and chain as before, running`, async () => {
    const env = await openQemuTestEnv();
    try {
      const doms = await setUp(env);
      const before = await groupWorld(env, NAMES);
      const nodesBefore = await Promise.all(['r0', 'r1'].map(async (n) => queryBlock(await env.conn.domainLookupByName(n))));
      process.env.SNAPVIRT_FAILPOINTS = spec;
      try {
        await assert.rejects(env.conn.groupSnapshotCreateXML(doms, XML, C.DISK_ONLY),
          (e: unknown) => isVirError(e) && expected.test(e.message));
      } finally {
        delete process.env.SNAPVIRT_FAILPOINTS;
      }
      assert.deepEqual((env.conn.driver as QemuDriver).store.journal.listOpen(), []);
      assert.deepEqual(await groupWorld(env, NAMES), before);
      assert.deepEqual(await Promise.all(['r0', 'r1'].map(async (n) => queryBlock(await env.conn.domainLookupByName(n)))), nodesBefore);
      assert.deepEqual(await states(env), [DomainState.RUNNING, DomainState.RUNNING]);
      // The guest still writes to its old image, and a group snapshot can be taken afterwards.
      await guestWriteVia(doms[0]!, 'vda', 0x33);
      await env.conn.groupSnapshotCreateXML(doms, XML, C.DISK_ONLY);
      assert.deepEqual(await onOverlays(env, 'r0'), [true, true]);
    } finally {
      await killAllQemu(env.stateDir);
      await env.cleanup();
    }
  });
}

test('the guests run again right after the last switch, before the commit: a failure at the commit finds them running, and recovery finishes the group', async () => {
  const env = await openQemuTestEnv();
  try {
    const doms = await setUp(env);
    process.env.SNAPVIRT_FAILPOINTS = 'group-create.commit.before=error';
    try {
      await assert.rejects(env.conn.groupSnapshotCreateXML(doms, XML, C.DISK_ONLY),
        (e: unknown) => isVirError(e) && /failpoint group-create\.commit\.before/.test(e.message));
    } finally {
      delete process.env.SNAPVIRT_FAILPOINTS;
    }
    // Nothing has recovered the entry yet (monitor commands take no lock): the guests were resumed by the switch itself.
    for (const n of ['r0', 'r1']) {
      const reply = JSON.parse(await (await env.conn.domainLookupByName(n)).qemuMonitorCommand('{"execute":"query-status"}')) as { return: { running: boolean } };
      assert.equal(reply.return.running, true, n);
    }
    assert.equal((env.conn.driver as QemuDriver).store.journal.listOpen().length, 1);
    await guestWriteVia(doms[0]!, 'vda', 0x44);
    await env.reopen();
    assert.equal((env.conn.driver as QemuDriver).store.journal.listOpen().length, 0);
    const world = await groupWorld(env, NAMES);
    for (const n of NAMES) assert.deepEqual(world.members[n]!.snapshots, ['g'], n);
    assert.deepEqual(world.groups, ['g']);
    assert.deepEqual(await onOverlays(env, 'r0'), [true, true]);
    assert.deepEqual(await states(env), [DomainState.RUNNING, DomainState.RUNNING]);
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});

// The un-switch after an error at member.switch.after@1 commits the first member's vda, then its vdb.
const UNSWITCH = 'group-create.member.switch.after=error@1,group-create.unswitch.job.started=crash';
for (const [point, after] of [
  ['group-create.prepare.step.after@6', false], // the last step: every guest stopped, nothing switched
  ['group-create.member.switch.after@1', true], // the first running member switched, the second not
  ['group-create.switch.after', true],
  // Killed taking the first member back: its vda's commit job left running (ended by recovery, no
  // pivot: that member is wholly switched, so forward), or its vda back and vdb's job left (partly: back).
  [`${UNSWITCH}@1`, true],
  [`${UNSWITCH}@2`, false],
] as const) {
  test(`killed at ${point}: the next open leaves every member wholly ${after ? 'after' : 'before'}, the guests running`, async () => {
    const env = await openQemuTestEnv();
    try {
      const doms = await setUp(env);
      const before = await groupWorld(env, NAMES);
      await env.conn.close();
      const [name, at] = point.split('@');
      const spec = point.includes('=') ? point : `${name}=crash${at ? `@${at}` : ''}`;
      const child = await runChildOp(env.stateDir, spec, ['group-create', doms.map((d) => d.getName()).join(','), XML, String(C.DISK_ONLY)]);
      assert.equal(child.signal, 'SIGKILL', child.stderr);
      await env.reopen();
      assert.equal((env.conn.driver as QemuDriver).store.journal.listOpen().length, 0);
      const world = await groupWorld(env, NAMES);
      if (after) {
        for (const n of NAMES) assert.deepEqual(world.members[n]!.snapshots, ['g'], n);
        assert.deepEqual(await onOverlays(env, 'r0'), [true, true]);
        assert.deepEqual(await onOverlays(env, 'r1'), [true, true]);
        assert.deepEqual(world.groups, ['g']);
      } else {
        assert.deepEqual(world, before);
        assert.deepEqual(await onOverlays(env, 'r1'), [false, false]);
      }
      assert.deepEqual(await states(env), [DomainState.RUNNING, DomainState.RUNNING]);
      for (const n of ['r0', 'r1']) {
        const jobs = JSON.parse(await (await env.conn.domainLookupByName(n)).qemuMonitorCommand('{"execute":"query-jobs"}')) as { return: unknown[] };
        assert.deepEqual(jobs.return, [], `${n}: no block job left`);
      }
    } finally {
      await killAllQemu(env.stateDir);
      await env.cleanup();
    }
  });
}
