/**
 * Create failures beyond the failure matrix (failure-matrix-*.test.ts covers every fault
 * on 2 and 8 disks): ENOSPC with both overlay writers, and crashes (SIGKILL at failpoints,
 * and inside recovery) after which the next open leaves everything wholly before or after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotCreateFlags as C } from '../../../../../src/api/flags.js';
import { VirError } from '../../../../../src/api/errors.js';
import type { Domain } from '../../../../../src/api/domain.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../../helpers/qemu-connection.js';
import { domainXml, makeImages, type FixtureDisk } from '../../../../helpers/domain-fixture.js';
import { chainOf, listingOf } from '../../../../helpers/disk-state.js';
import { writePattern } from '../../../../helpers/qemu-io.js';
import { mountTmpfs } from '../../../../helpers/mounts.js';
import { runChildOp } from '../../../../helpers/run-child-op.js';

interface World {
  env: QemuTestEnv;
  disks: FixtureDisk[];
  dom: Domain;
}

/** Two qcow2 disks with data, one snapshot 'base' already taken (internal). */
async function world(): Promise<World> {
  const env = await openQemuTestEnv();
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
  for (const d of disks) await writePattern(d.path, 'qcow2', 0x5a, 0, 65536);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
  await dom.snapshotCreateXML('<domainsnapshot><name>base</name></domainsnapshot>');
  return { env, disks, dom };
}

/** Everything that must not change on a failed operation. */
async function picture(w: World, extraDirs: string[] = []): Promise<unknown> {
  const dom = await w.env.conn.domainLookupByName('vm');
  return {
    xml: await dom.getXMLDesc(),
    snapshots: (await dom.listAllSnapshots()).map((s) => s.getName()).sort(),
    current: (await dom.snapshotCurrent()).getName(),
    images: await listingOf(w.env.imageDir, { sizes: false }),
    extra: await Promise.all(extraDirs.map((d) => listingOf(d))),
    chains: await Promise.all(w.disks.map((d) => chainOf(d.path, 'qcow2'))),
  };
}

function externalXml(name: string, vda: string, vdb: string): string {
  return `<domainsnapshot><name>${name}</name><disks>
  <disk name='vda' snapshot='external'><source file='${vda}'/></disk>
  <disk name='vdb' snapshot='external'><source file='${vdb}'/></disk>
</disks></domainsnapshot>`;
}

async function expectUnchanged(w: World, run: (dom: Domain) => Promise<unknown>, message: RegExp, extraDirs: string[] = []): Promise<void> {
  const before = await picture(w, extraDirs);
  await assert.rejects(run(await w.env.conn.domainLookupByName('vm')), (e: unknown) => e instanceof VirError && message.test(e.message));
  assert.deepEqual(await picture(w, extraDirs), before);
  // And again after a reopen (recovery must find nothing to do and change nothing).
  await w.env.reopen();
  assert.deepEqual(await picture(w, extraDirs), before);
}

for (const native of [true, false]) {
  test(`external: second target on a full tmpfs (ENOSPC, ${native ? 'native overlay writer' : 'qemu-img create'})`, async (t) => {
    const w = await world();
    t.after(() => w.env.cleanup());
    if (!native) {
      process.env.SNAPVIRT_NATIVE_QCOW2 = '0';
      t.after(() => { delete process.env.SNAPVIRT_NATIVE_QCOW2; });
    }
    const full = join(w.env.tmp.path, 'full');
    await mountTmpfs(full, 64 * 1024);
    await writeFile(join(full, 'filler'), Buffer.alloc(60 * 1024, 1), { mode: 0o600 }).catch(() => undefined);
    const xml = externalXml('x', join(w.env.imageDir, 'a.ov'), join(full, 'b.ov'));
    await expectUnchanged(w, (dom) => dom.snapshotCreateXML(xml, C.DISK_ONLY), /No space left on device/, [full]);
  });
}

for (const point of ['create.prepare.disk.after=crash@1', 'create.prepare.disk.after=crash@2', 'create.prepare.step.after=crash', 'create.commit.before=crash']) {
  test(`crash (${point}) then reopen: recovery rolls back`, async (t) => {
    const w = await world();
    t.after(() => w.env.cleanup());
    const before = await picture(w);
    for (const xml of ['<domainsnapshot><name>i</name></domainsnapshot>', externalXml('x', join(w.env.imageDir, 'a.ov'), join(w.env.imageDir, 'b.ov'))]) {
      const flags = xml.includes('external') ? C.DISK_ONLY : 0;
      const res = await runChildOp(w.env.stateDir, point, ['create', 'vm', xml, String(flags)]);
      assert.equal(res.signal, 'SIGKILL', res.stderr);
      await w.env.reopen();
      assert.deepEqual(await picture(w), before);
    }
  });
}

test('crash after the commit point: the snapshot exists after reopen', async (t) => {
  const w = await world();
  t.after(() => w.env.cleanup());
  const xml = externalXml('x', join(w.env.imageDir, 'a.ov'), join(w.env.imageDir, 'b.ov'));
  const res = await runChildOp(w.env.stateDir, 'create.commit.after=crash', ['create', 'vm', xml, String(C.DISK_ONLY)]);
  assert.equal(res.signal, 'SIGKILL', res.stderr);
  const conn = await w.env.reopen();
  const dom = await conn.domainLookupByName('vm');
  assert.equal((await dom.snapshotCurrent()).getName(), 'x');
  assert.match(await dom.getXMLDesc(), /a\.ov/);
  assert.deepEqual((await chainOf(join(w.env.imageDir, 'b.ov'), 'qcow2')).length, 2);
});

test('a crash inside recovery is recovered by the next open', async (t) => {
  const w = await world();
  t.after(() => w.env.cleanup());
  const before = await picture(w);
  await w.env.conn.close();
  const xml = externalXml('x', join(w.env.imageDir, 'a.ov'), join(w.env.imageDir, 'b.ov'));
  const first = await runChildOp(w.env.stateDir, 'create.commit.before=crash', ['create', 'vm', xml, String(C.DISK_ONLY)]);
  assert.equal(first.signal, 'SIGKILL', first.stderr);
  // The next process dies while undoing the first overlay during recovery at open.
  const second = await runChildOp(w.env.stateDir, 'recover.undo.resource.after=crash@1', ['create', 'vm', xml, String(C.DISK_ONLY)]);
  assert.equal(second.signal, 'SIGKILL', second.stderr);
  await w.env.reopen();
  assert.deepEqual(await picture(w), before);
});
