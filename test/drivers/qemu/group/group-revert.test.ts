/**
 * Group revert on shut-off QEMU domains (real qcow2 images): every member presents its
 * data of the group's instant again, or (a failure on the last disk of the last member, a
 * kill before the commit) every member keeps its current data, files and chains; a kill
 * after the commit is finished by the next open. Reverting one member alone is refused
 * unless forced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotCreateFlags as C, SnapshotRevertFlags as R } from '../../../../src/api/flags.js';
import { isVirError, VirErrorCode } from '../../../../src/api/errors.js';
import type { Domain } from '../../../../src/api/domain.js';
import type { QemuDriver } from '../../../../src/drivers/qemu/qemu-driver.js';
import { hasPattern, writePattern } from '../../../helpers/qemu-io.js';
import { diskSourcesIn } from '../../../helpers/domain-fixture.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { runChildOp } from '../../../helpers/run-child-op.js';
import { defineMembers, groupWorld } from './group-world.js';

const NAMES = ['g0', 'g1'];
const GROUP = '<groupsnapshot><name>g</name></groupsnapshot>';
const THEN = 0x31;
const NOW = 0x42;

async function writeAll(dom: Domain, pattern: number): Promise<void> {
  for (const src of diskSourcesIn(await dom.getXMLDesc())) await writePattern(src, 'qcow2', pattern, 0, 65536);
}

/** Whether every disk of every member presents `pattern`. */
async function allPresent(env: QemuTestEnv, pattern: number): Promise<boolean> {
  for (const n of NAMES) {
    for (const src of diskSourcesIn(await (await env.conn.domainLookupByName(n)).getXMLDesc())) {
      if (!await hasPattern(src, 'qcow2', pattern, 0, 65536)) return false;
    }
  }
  return true;
}

/** Members with data THEN, the group, then data NOW written over it. */
async function setUp(env: QemuTestEnv, flags: number): Promise<Domain[]> {
  const doms = await defineMembers(env, 2, 2);
  for (const d of doms) await writeAll(d, THEN);
  await env.conn.groupSnapshotCreateXML(doms, GROUP, flags);
  for (const d of doms) await writeAll(d, NOW);
  return doms;
}

for (const [mode, flags] of [['internal', 0], ['external', C.DISK_ONLY]] as const) {
  test(`${mode}: group revert gives every member its data of the group's instant`, async () => {
    const env = await openQemuTestEnv();
    try {
      await setUp(env, flags);
      assert.ok(await allPresent(env, NOW));
      await (await env.conn.groupSnapshotLookupByName('g')).revert();
      assert.ok(await allPresent(env, THEN));
      const world = await groupWorld(env, NAMES);
      for (const n of NAMES) assert.equal(world.members[n]!.current, 'g');
    } finally {
      await env.cleanup();
    }
  });

  test(`${mode}: a failure once the last disk of the last member is done, and kills, leave every member all before or all after`, async () => {
    for (const [how, point, after] of [
      ['error', 'group-revert.prepare.disk.after@4', false],
      ['crash', 'group-revert.prepare.disk.after@2', false],
      ['crash', 'group-revert.commit.before', false],
      ['crash', 'group-revert.commit.after', true],
    ] as const) {
      const env = await openQemuTestEnv();
      try {
        await setUp(env, flags);
        const before = await groupWorld(env, NAMES);
        const [name, at] = point.split('@');
        const spec = `${name}=${how}${at ? `@${at}` : ''}`;
        if (how === 'error') {
          process.env.SNAPVIRT_FAILPOINTS = spec;
          try {
            await assert.rejects((await env.conn.groupSnapshotLookupByName('g')).revert(), (e: unknown) => isVirError(e));
          } finally {
            delete process.env.SNAPVIRT_FAILPOINTS;
          }
        } else {
          await env.conn.close();
          const child = await runChildOp(env.stateDir, spec, ['group-revert', '-', 'g', '0']);
          assert.equal(child.signal, 'SIGKILL', child.stderr);
          await env.reopen();
        }
        assert.equal((env.conn.driver as QemuDriver).store.journal.listOpen().length, 0, point);
        assert.ok(await allPresent(env, after ? THEN : NOW), `${how} at ${point}: every member ${after ? 'reverted' : 'as before'}`);
        if (!after) assert.deepEqual(await groupWorld(env, NAMES), before, `${how} at ${point}`);
      } finally {
        await env.cleanup();
      }
    }
  });
}

test('reverting one member to its group snapshot alone is refused, naming the group; --force does it', async () => {
  const env = await openQemuTestEnv();
  try {
    const doms = await setUp(env, 0);
    await assert.rejects((await doms[1]!.snapshotLookupByName('g')).revert(),
      (e: unknown) => isVirError(e) && e.code === VirErrorCode.OPERATION_INVALID && e.message ===
        "Requested operation is not valid: snapshot 'g' of domain 'g1' is a member of group snapshot 'g': revert the group with group-snapshot-revert g, or this domain alone with --force");
    assert.ok(await allPresent(env, NOW));
    await (await doms[1]!.snapshotLookupByName('g')).revert(R.FORCE);
    const src = diskSourcesIn(await doms[1]!.getXMLDesc())[0]!;
    assert.ok(await hasPattern(src, 'qcow2', THEN, 0, 65536));
    await assert.rejects((await env.conn.groupSnapshotLookupByName('g')).revert(R.RUNNING | R.PAUSED),
      (e: unknown) => isVirError(e) && e.code === VirErrorCode.INVALID_ARG &&
        e.message.endsWith("Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive"));
  } finally {
    await env.cleanup();
  }
});
