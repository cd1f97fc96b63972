/**
 * Failure on the second disk leaves everything as before: domain XML, directory listings,
 * each disk's backing chain (with its tags) and the snapshot list. Real faults: a missing
 * directory, a read-only tmpfs, a read-only bind mount, a chattr +i directory, a full
 * tmpfs, an existing target, an image held open by qemu-io; plus failpoints and crashes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotCreateFlags as C } from '../../../src/api/flags.js';
import { VirError } from '../../../src/api/errors.js';
import type { Domain } from '../../../src/api/domain.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../helpers/qemu-connection.js';
import { domainXml, makeImages, type FixtureDisk } from '../../helpers/domain-fixture.js';
import { chainOf, listingOf } from '../../helpers/disk-state.js';
import { holdImage, writePattern } from '../../helpers/qemu-io.js';
import { mountReadOnlyBind, mountTmpfs, setImmutable } from '../../helpers/mounts.js';
import { runChildOp } from '../../helpers/run-child-op.js';

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

test('external: second target directory missing', async (t) => {
  const w = await world();
  t.after(() => w.env.cleanup());
  const xml = externalXml('x', join(w.env.imageDir, 'a.ov'), join(w.env.tmp.path, 'nope', 'b.ov'));
  await expectUnchanged(w, (dom) => dom.snapshotCreateXML(xml, C.DISK_ONLY | C.ATOMIC),
    /^failed to create image file '.*\/nope\/b\.ov': No such file or directory$/);
});

test('external: second target on a read-only tmpfs', async (t) => {
  const w = await world();
  t.after(() => w.env.cleanup());
  const ro = join(w.env.tmp.path, 'ro');
  await mountTmpfs(ro, 1 << 20, { readOnly: true });
  const xml = externalXml('x', join(w.env.imageDir, 'a.ov'), join(ro, 'b.ov'));
  await expectUnchanged(w, (dom) => dom.snapshotCreateXML(xml, C.DISK_ONLY), /Read-only file system$/, [ro]);
});

test('external: second target in a read-only bind mount', async (t) => {
  const w = await world();
  t.after(() => w.env.cleanup());
  const src = join(w.env.tmp.path, 'src');
  await mkdir(src, { mode: 0o700 });
  const ro = join(w.env.tmp.path, 'robind');
  await mountReadOnlyBind(src, ro);
  const xml = externalXml('x', join(w.env.imageDir, 'a.ov'), join(ro, 'b.ov'));
  await expectUnchanged(w, (dom) => dom.snapshotCreateXML(xml, C.DISK_ONLY), /Read-only file system$/, [ro]);
});

test('external: second target in a chattr +i directory', async (t) => {
  const w = await world();
  t.after(() => w.env.cleanup());
  const dir = join(w.env.tmp.path, 'immutable');
  await mkdir(dir, { mode: 0o700 });
  await setImmutable(dir, true);
  const xml = externalXml('x', join(w.env.imageDir, 'a.ov'), join(dir, 'b.ov'));
  await expectUnchanged(w, (dom) => dom.snapshotCreateXML(xml, C.DISK_ONLY), /Operation not permitted$/, [dir]);
});

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

test('external: second target exists (without --reuse-external)', async (t) => {
  const w = await world();
  t.after(() => w.env.cleanup());
  const existing = join(w.env.imageDir, 'b.ov');
  await writeFile(existing, 'keep me', { mode: 0o600 });
  const xml = externalXml('x', join(w.env.imageDir, 'a.ov'), existing);
  await expectUnchanged(w, (dom) => dom.snapshotCreateXML(xml, C.DISK_ONLY),
    /^unsupported configuration: external snapshot file for disk vdb already exists and is not a block device: .*b\.ov$/);
});

test('internal and external: second image held open by a running qemu-io', async (t) => {
  const w = await world();
  t.after(() => w.env.cleanup());
  const holder = await holdImage(w.disks[1]!.path, 'qcow2');
  t.after(() => holder.release());
  await expectUnchanged(w, (dom) => dom.snapshotCreateXML('<domainsnapshot><name>i</name></domainsnapshot>'), /lock/);
  const xml = externalXml('x', join(w.env.imageDir, 'a.ov'), join(w.env.imageDir, 'b.ov'));
  await expectUnchanged(w, (dom) => dom.snapshotCreateXML(xml, C.DISK_ONLY), /lock/);
});

test('failpoint error after the second prepare step undoes both disks (internal and external)', async (t) => {
  const w = await world();
  t.after(() => w.env.cleanup());
  process.env.SNAPVIRT_FAILPOINTS = 'create.prepare.step.after=error@2';
  t.after(() => { delete process.env.SNAPVIRT_FAILPOINTS; });
  await expectUnchanged(w, (dom) => dom.snapshotCreateXML('<domainsnapshot><name>i</name></domainsnapshot>'), /failpoint create\.prepare\.step\.after/);
  process.env.SNAPVIRT_FAILPOINTS = 'create.commit.before=error';
  const xml = externalXml('x', join(w.env.imageDir, 'a.ov'), join(w.env.imageDir, 'b.ov'));
  await expectUnchanged(w, (dom) => dom.snapshotCreateXML(xml, C.DISK_ONLY), /failpoint create\.commit\.before/);
});

for (const point of ['create.prepare.step.after=crash@1', 'create.prepare.step.after=crash@2', 'create.commit.before=crash']) {
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
