/**
 * External full-system snapshots (--memspec): memory saved through migration to a file
 * while the disks move to overlays in one transaction; revert starts a fresh QEMU on new
 * overlays and loads the memory file. A failing transaction removes the memory file and
 * resumes the guest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainState, PausedReason, RunningReason, SnapshotCreateFlags as C, SnapshotDeleteFlags as D, SnapshotRevertFlags as R } from '../../../../../src/api/flags.js';
import { VirError } from '../../../../../src/api/errors.js';
import { hasPattern } from '../../../../helpers/qemu-io.js';
import { guestWriteVia, makeRunningEnv, nodeNames, queryBlock } from '../../support/active-env.js';

const K64 = 64 * 1024;

function memXml(name: string, file: string): string {
  return `<domainsnapshot><name>${name}</name><memory snapshot='external' file='${file}'/></domainsnapshot>`;
}

test('external snapshot with memory: save, guest resumed, revert loads the memory on fresh overlays', async (t) => {
  const r = await makeRunningEnv(2);
  t.after(() => r.cleanup());
  const { dom, disks, env } = r;
  await dom.create();
  for (const [i, d] of disks.entries()) await guestWriteVia(dom, d.target, 0x41 + i, 0, '64k');
  const mem = join(env.imageDir, 'e1.mem');
  const started = performance.now();
  const e1 = await dom.snapshotCreateXML(memXml('e1', mem));
  t.diagnostic(`external snapshot with memory (128 MiB guest, 2 disks): ${(performance.now() - started).toFixed(0)} ms`);
  const xml = await e1.getXMLDesc();
  assert.match(xml, /<state>running<\/state>/);
  assert.ok(xml.includes(`<memory snapshot='external' file='${mem}'/>`));
  const st = await stat(mem);
  assert.equal(st.mode & 0o777, 0o600);
  assert.ok(st.size > 100_000, `memory file has the machine state (${st.size} bytes)`);
  assert.equal((await dom.getState()).state, DomainState.RUNNING, 'the guest runs again');
  assert.deepEqual((await queryBlock(dom)).map((b) => b.node), ['drive-vda-g1-fmt', 'drive-vdb-g1-fmt']);

  for (const [i, d] of disks.entries()) await guestWriteVia(dom, d.target, 0x71 + i, 0, '64k');
  await e1.revert();
  assert.deepEqual(await dom.getState(), { state: DomainState.RUNNING, reason: RunningReason.FROM_SNAPSHOT });
  const blocks = await queryBlock(dom);
  assert.deepEqual(blocks.map((b) => b.file), disks.map((d) => d.path.replace(/\.qcow2$/, '.e1-revert1')));
  await e1.revert(R.PAUSED);
  assert.deepEqual(await dom.getState(), { state: DomainState.PAUSED, reason: PausedReason.FROM_SNAPSHOT });
  const files = (await queryBlock(dom)).map((b) => b.file);
  await dom.destroy();
  for (const [i, f] of files.entries()) {
    assert.ok(await hasPattern(f, 'qcow2', 0x41 + i, 0, K64), `${f}: the data of the snapshot`);
  }
  // A domain paused at snapshot time stays paused, and --live saves without stopping first.
  await dom.create();
  await dom.suspend();
  const p = await dom.snapshotCreateXML(memXml('p', join(env.imageDir, 'p.mem')), C.LIVE);
  assert.match(await p.getXMLDesc(), /<state>paused<\/state>/);
  // Still paused by the user, as libvirt reports it: saving the memory left QEMU in
  // 'postmigrate', which is no migration of the user's.
  assert.deepEqual(await dom.getState(), { state: DomainState.PAUSED, reason: PausedReason.USER });
});

test('external snapshot with memory: a failing transaction removes the memory file and resumes the guest', async (t) => {
  const r = await makeRunningEnv(2);
  t.after(() => r.cleanup());
  const { dom, env } = r;
  await dom.create();
  const before = { files: (await readdir(env.imageDir)).sort(), blocks: await queryBlock(dom), nodes: await nodeNames(dom) };
  const saved = process.env.SNAPVIRT_FAILPOINTS;
  process.env.SNAPVIRT_FAILPOINTS = 'live-create.transaction.abort=error';
  try {
    await assert.rejects(dom.snapshotCreateXML(memXml('x', join(env.imageDir, 'x.mem'))), (e: unknown) => e instanceof VirError);
  } finally {
    if (saved === undefined) delete process.env.SNAPVIRT_FAILPOINTS;
    else process.env.SNAPVIRT_FAILPOINTS = saved;
  }
  assert.deepEqual({ files: (await readdir(env.imageDir)).sort(), blocks: await queryBlock(dom), nodes: await nodeNames(dom) }, before);
  assert.equal((await dom.getState()).state, DomainState.RUNNING);
  assert.deepEqual(await dom.snapshotListNames(), []);
});

test('deleting an external snapshot with memory removes the memory file snapvirt made, running or shut off; --metadata leaves it', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, env } = r;
  await dom.create();
  const mem = (n: string): string => join(env.imageDir, `${n}.mem`);
  for (const n of ['e1', 'e2', 'e3']) await dom.snapshotCreateXML(memXml(n, mem(n)));
  // Running: a leaf merged by block-commit, its memory file gone with its metadata (libvirt ≥ 9.1; 9.0 leaves it).
  await (await dom.snapshotLookupByName('e3')).delete(0);
  await assert.rejects(stat(mem('e3')), { code: 'ENOENT' });
  // --metadata leaves every file.
  await (await dom.snapshotLookupByName('e2')).delete(D.METADATA_ONLY);
  assert.ok((await stat(mem('e2'))).isFile());
  // Shut off: the offline delete does the same.
  await dom.destroy();
  await (await dom.snapshotLookupByName('e1')).delete(0);
  await assert.rejects(stat(mem('e1')), { code: 'ENOENT' });
  assert.deepEqual(await dom.snapshotListNames(), []);
});
