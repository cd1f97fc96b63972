/**
 * Group revert with running members and with --running/--paused (real QEMU under TCG):
 * every member gets a new QEMU on its data of the group's instant, or (a failure once the
 * last member's QEMU is started, a kill before the switch) every member keeps its old
 * QEMU, its data and its files; a kill after the switch began is finished by the next open.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainState, SnapshotCreateFlags as C, SnapshotRevertFlags as R } from '../../../../src/api/flags.js';
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
const THEN = 0x11;
const NOW = 0x22;

/** Two running domains and a shut-off one, one disk each; the group taken at THEN, the running guests at NOW since. */
async function setUp(env: QemuTestEnv): Promise<Domain[]> {
  const doms: Domain[] = [];
  for (const name of NAMES) {
    const images = await makeImages(env.imageDir, name, ['qcow2'], 16 << 20);
    doms.push(await env.conn.domainDefineXML(domainXml(name, images)));
  }
  for (const d of doms.slice(0, 2)) {
    await d.create();
    await guestWrite(d, THEN);
  }
  await env.conn.groupSnapshotCreateXML(doms, XML, C.DISK_ONLY);
  for (const d of doms.slice(0, 2)) await guestWrite(d, NOW);
  return doms;
}

/** Writes `pattern` as the guest of `dom` would, flushed to its image. */
async function guestWrite(dom: Domain, pattern: number): Promise<void> {
  await guestWriteVia(dom, 'vda', pattern);
  await dom.qemuMonitorCommand('qemu-io -d /machine/peripheral/disk-vda/virtio-backend "flush"', 1);
}

/** Whether the image the QEMU of running `name` has on vda (its whole chain) reads `pattern`; force-share, as the QEMU holds it. */
async function guestReads(env: QemuTestEnv, name: string, pattern: number): Promise<boolean> {
  const file = (await queryBlock(await env.conn.domainLookupByName(name)))[0]!.file;
  return run('qemu-io', ['-r', '-U', '-f', 'qcow2', '-c', `read -P ${pattern} 0 1M`, file]).then(() => true, () => false);
}

async function states(env: QemuTestEnv, names: readonly string[]): Promise<number[]> {
  return Promise.all(names.map(async (n) => (await (await env.conn.domainLookupByName(n)).getState()).state));
}

async function blocks(env: QemuTestEnv): Promise<unknown[]> {
  return Promise.all(RUNNING.map(async (n) => queryBlock(await env.conn.domainLookupByName(n))));
}

test('--running: every member, the shut-off one too, runs a new QEMU on its data of the group instant', async () => {
  const env = await openQemuTestEnv();
  try {
    await setUp(env);
    const ids = await Promise.all(RUNNING.map(async (n) => (await env.conn.domainLookupByName(n)).getID()));
    await (await env.conn.groupSnapshotLookupByName('g')).revert(R.RUNNING);
    assert.deepEqual(await states(env, NAMES), [DomainState.RUNNING, DomainState.RUNNING, DomainState.RUNNING]);
    for (const n of RUNNING) assert.ok(await guestReads(env, n, THEN) && !await guestReads(env, n, NOW), n);
    const after = await Promise.all(RUNNING.map(async (n) => (await env.conn.domainLookupByName(n)).getID()));
    for (const [i, id] of after.entries()) assert.notEqual(id, ids[i], 'a new QEMU');
    const world = await groupWorld(env, NAMES);
    for (const n of NAMES) assert.equal(world.members[n]!.current, 'g', n);
    for (const n of RUNNING) assert.match(world.members[n]!.sources[0]!, /\.g-revert1$/, n);
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});

test('--paused leaves every member paused; no flag ends them as their disk-only snapshot: shut off', async () => {
  const env = await openQemuTestEnv();
  try {
    await setUp(env);
    const group = await env.conn.groupSnapshotLookupByName('g');
    await group.revert(R.PAUSED);
    assert.deepEqual(await states(env, NAMES), [DomainState.PAUSED, DomainState.PAUSED, DomainState.PAUSED]);
    for (const n of RUNNING) assert.ok(await guestReads(env, n, THEN) && !await guestReads(env, n, NOW), n);
    await group.revert();
    assert.deepEqual(await states(env, NAMES), [DomainState.SHUTOFF, DomainState.SHUTOFF, DomainState.SHUTOFF]);
    const world = await groupWorld(env, NAMES);
    for (const n of NAMES) assert.equal(world.members[n]!.current, 'g', n);
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});

test('a failure once the last member\'s new QEMU is started leaves every member on its old QEMU, data and files', async () => {
  const env = await openQemuTestEnv();
  try {
    await setUp(env);
    const before = await groupWorld(env, NAMES);
    const blocksBefore = await blocks(env);
    // Steps: per member its image, then its start: the 6th is the last member's start.
    process.env.SNAPVIRT_FAILPOINTS = 'group-live-revert.prepare.step.after@6=error';
    try {
      await assert.rejects((await env.conn.groupSnapshotLookupByName('g')).revert(R.RUNNING), (e: unknown) => isVirError(e));
    } finally {
      delete process.env.SNAPVIRT_FAILPOINTS;
    }
    assert.deepEqual(await groupWorld(env, NAMES), before);
    assert.deepEqual(await blocks(env), blocksBefore);
    assert.deepEqual(await states(env, NAMES), [DomainState.RUNNING, DomainState.RUNNING, DomainState.SHUTOFF]);
    for (const n of RUNNING) assert.ok(await guestReads(env, n, NOW) && !await guestReads(env, n, THEN), n);
  } finally {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  }
});

for (const [point, after] of [
  ['group-live-revert.prepare.step.after@6', false], // every new QEMU started, no marker
  ['group-live-revert.member.stop.after@1', true], // the marker written, the first old QEMU stopped, the second not
  ['group-live-revert.commit.after', true], // committed, the new QEMUs not resumed yet
] as const) {
  test(`killed at ${point}: the next open leaves every member wholly ${after ? 'reverted, running' : 'as before'}`, async () => {
    const env = await openQemuTestEnv();
    try {
      await setUp(env);
      const before = await groupWorld(env, NAMES);
      await env.conn.close();
      const [name, at] = point.split('@');
      const child = await runChildOp(env.stateDir, `${name}=crash${at ? `@${at}` : ''}`, ['group-revert', '-', 'g', String(R.RUNNING)]);
      assert.equal(child.signal, 'SIGKILL', child.stderr);
      await env.reopen();
      assert.equal((env.conn.driver as QemuDriver).store.journal.listOpen().length, 0);
      if (after) {
        assert.deepEqual(await states(env, NAMES), [DomainState.RUNNING, DomainState.RUNNING, DomainState.RUNNING]);
        for (const n of RUNNING) assert.ok(await guestReads(env, n, THEN) && !await guestReads(env, n, NOW), n);
        const world = await groupWorld(env, NAMES);
        for (const n of NAMES) assert.equal(world.members[n]!.current, 'g', n);
      } else {
        assert.deepEqual(await groupWorld(env, NAMES), before);
        assert.deepEqual(await states(env, NAMES), [DomainState.RUNNING, DomainState.RUNNING, DomainState.SHUTOFF]);
        for (const n of RUNNING) assert.ok(await guestReads(env, n, NOW) && !await guestReads(env, n, THEN), n);
      }
    } finally {
      await killAllQemu(env.stateDir);
      await env.cleanup();
    }
  });
}
