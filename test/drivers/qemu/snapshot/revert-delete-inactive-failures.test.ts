/**
 * Revert and delete across crashes (the in-process failures are in failure-matrix-*): a
 * crash in the middle of a revert leaves every disk's data, the definition and the current
 * snapshot as before; a crash after a delete's commit point is finished by recovery with
 * all data kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { domainXml, makeImages, type FixtureDisk } from '../../../helpers/domain-fixture.js';
import { chainOf, namesIn } from '../../../helpers/disk-state.js';
import { hasPattern, writePattern } from '../../../helpers/qemu-io.js';
import { runChildOp } from '../../../helpers/run-child-op.js';

const K = 65536;

async function internalWorld(): Promise<{ env: QemuTestEnv; disks: FixtureDisk[] }> {
  const env = await openQemuTestEnv();
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  for (const d of disks) await writePattern(d.path, 'qcow2', 0xa, 0, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>A</name></domainsnapshot>');
  for (const d of disks) await writePattern(d.path, 'qcow2', 0xb, 0, K);
  await dom.snapshotCreateXML('<domainsnapshot><name>B</name></domainsnapshot>');
  for (const d of disks) await writePattern(d.path, 'qcow2', 0xc, 0, K);
  return { env, disks };
}

async function stateOf(env: QemuTestEnv, disks: FixtureDisk[]): Promise<unknown> {
  const dom = await env.conn.domainLookupByName('vm');
  return {
    xml: await dom.getXMLDesc(),
    current: (await dom.snapshotCurrent()).getName(),
    names: (await dom.listAllSnapshots()).map((s) => s.getName()).sort(),
    files: await namesIn(env.imageDir),
    chains: await Promise.all(disks.map((d) => chainOf(d.path, 'qcow2'))),
    dataC: await Promise.all(disks.map((d) => hasPattern(d.path, 'qcow2', 0xc, 0, K))),
  };
}

for (const point of ['revert.prepare.disk.after=crash@1', 'revert.prepare.disk.after=crash@2', 'revert.prepare.step.after=crash@1', 'revert.commit.before=crash']) {
  test(`crash during internal revert (${point}): recovery restores the pre-revert data`, async (t) => {
    const { env, disks } = await internalWorld();
    t.after(() => env.cleanup());
    const before = await stateOf(env, disks);
    await env.conn.close();
    const res = await runChildOp(env.stateDir, point, ['revert', 'vm', 'A', '0']);
    assert.equal(res.signal, 'SIGKILL', res.stderr);
    await env.reopen();
    assert.deepEqual(await stateOf(env, disks), before);
  });
}

test('crash after the revert commit: recovery drops the undo tags, data is A', async (t) => {
  const { env, disks } = await internalWorld();
  t.after(() => env.cleanup());
  await env.conn.close();
  const res = await runChildOp(env.stateDir, 'revert.commit.after=crash', ['revert', 'vm', 'A', '0']);
  assert.equal(res.signal, 'SIGKILL', res.stderr);
  const conn = await env.reopen();
  assert.equal((await (await conn.domainLookupByName('vm')).snapshotCurrent()).getName(), 'A');
  for (const d of disks) {
    assert.equal(await hasPattern(d.path, 'qcow2', 0xa, 0, K), true);
    assert.deepEqual(((await chainOf(d.path, 'qcow2'))[0] as { snapshots: string[] }).snapshots, ['A', 'B']);
  }
});

for (const point of ['delete.commit.after=crash', 'delete.finalize.before=crash']) {
  test(`crash after an external delete's commit (${point}): recovery finishes the merge`, async (t) => {
    const env = await openQemuTestEnv();
    t.after(() => env.cleanup());
    const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
    const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
    for (const d of disks) await writePattern(d.path, 'qcow2', 0xa, 0, K);
    await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
    for (const d of disks) await writePattern(d.path.replace('.qcow2', '.e1'), 'qcow2', 0xb, K, K);
    await dom.snapshotCreateXML('<domainsnapshot><name>e2</name></domainsnapshot>', C.DISK_ONLY);
    for (const d of disks) await writePattern(d.path.replace('.qcow2', '.e2'), 'qcow2', 0xc, 2 * K, K);
    await env.conn.close();
    const res = await runChildOp(env.stateDir, point, ['delete', 'vm', 'e1', '0']);
    assert.equal(res.signal, 'SIGKILL', res.stderr);
    const conn = await env.reopen();
    const d2 = await conn.domainLookupByName('vm');
    assert.deepEqual((await d2.listAllSnapshots()).map((s) => s.getName()), ['e2']);
    assert.deepEqual(await namesIn(env.imageDir), ['vm-0.e2', 'vm-0.qcow2', 'vm-1.e2', 'vm-1.qcow2']);
    for (const d of disks) {
      const top = d.path.replace('.qcow2', '.e2');
      assert.equal(await hasPattern(top, 'qcow2', 0xa, 0, K), true);
      assert.equal(await hasPattern(top, 'qcow2', 0xb, K, K), true);
      assert.equal(await hasPattern(top, 'qcow2', 0xc, 2 * K, K), true);
    }
    assert.match(await (await d2.snapshotLookupByName('e2')).getXMLDesc(), new RegExp(`<source file='${disks[0]!.path}'/>`));
  });
}

test('internal delete with --children removes every tag; crash after commit is finished by recovery', async (t) => {
  const { env, disks } = await internalWorld();
  t.after(() => env.cleanup());
  await env.conn.close();
  const res = await runChildOp(env.stateDir, 'delete.commit.after=crash', ['delete', 'vm', 'A', '1']);
  assert.equal(res.signal, 'SIGKILL', res.stderr);
  const conn = await env.reopen();
  assert.deepEqual(await (await conn.domainLookupByName('vm')).listAllSnapshots(), []);
  for (const d of disks) {
    assert.deepEqual(((await chainOf(d.path, 'qcow2'))[0] as { snapshots: string[] }).snapshots, []);
    assert.equal(await hasPattern(d.path, 'qcow2', 0xc, 0, K), true);
  }
});
