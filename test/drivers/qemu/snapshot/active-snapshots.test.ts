/**
 * Live external disk-only snapshots of running domains through the public API: data
 * written before and after is where it belongs (checked offline after destroy), a second
 * snapshot stacks on the first, a failure at the last disk, in the transaction or just
 * before it changes nothing (query-block, nodes, files, metadata), a QEMU
 * killed right after a snapshot leaves a consistent chain, and a snapshotting process
 * killed before or after the switch is finished by recovery in the right direction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { DomainState, SnapshotCreateFlags as C, ShutoffReason } from '../../../../src/api/flags.js';
import { VirError } from '../../../../src/api/errors.js';
import { runtimeDirFor } from '../../../../src/drivers/qemu/domain/active-runtime.js';
import { hasPattern } from '../../../helpers/qemu-io.js';
import { runChildOp } from '../../../helpers/run-child-op.js';
import { guestWriteVia, makeRunningEnv, nodeNames, queryBlock, type RunningEnv } from '../support/active-env.js';
import { waitImagesUnlocked } from '../support/active-test-support.js';

const run = promisify(execFile);
const MiB = 1 << 20;

async function imageInfo(path: string): Promise<{ 'backing-filename'?: string; 'backing-filename-format'?: string; format: string }> {
  return JSON.parse((await run('qemu-img', ['info', '-U', '--output=json', path])).stdout) as { format: string };
}

/** Everything a failed or rolled-back snapshot must leave as it was. */
async function observable(r: RunningEnv): Promise<unknown> {
  return {
    files: (await readdir(r.env.imageDir)).sort(),
    blocks: await queryBlock(r.dom),
    nodes: await nodeNames(r.dom),
    xml: await r.dom.getXMLDesc(),
    inactive: await r.dom.getXMLDesc(2),
    snapshots: await r.dom.snapshotListNames(),
  };
}

function withFailpoints<T>(spec: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.SNAPVIRT_FAILPOINTS;
  process.env.SNAPVIRT_FAILPOINTS = spec;
  return fn().finally(() => {
    if (saved === undefined) delete process.env.SNAPVIRT_FAILPOINTS;
    else process.env.SNAPVIRT_FAILPOINTS = saved;
  });
}

for (const count of [1, 2, 8]) {
  test(`disk-only snapshot of a running domain with ${count} disk(s): atomic switch, data before/after`, async (t) => {
    const r = await makeRunningEnv(count);
    t.after(() => r.cleanup());
    const { dom, disks } = r;
    await dom.create();
    for (const [i, d] of disks.entries()) await guestWriteVia(dom, d.target, 0x20 + i);

    const started = performance.now();
    const snap = await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY | C.ATOMIC);
    t.diagnostic(`${count} disks: snapshot-create (whole call) ${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(snap.getName(), 's1');
    // libvirt's default overlay names: the image's name with its extension replaced by the snapshot name.
    const overlays = disks.map((d) => d.path.replace(/\.qcow2$/, '.s1'));
    const snapXml = await snap.getXMLDesc();
    assert.match(snapXml, /<state>disk-snapshot<\/state>/);
    assert.match(snapXml, /<memory snapshot='no'\/>/);
    for (const o of overlays) assert.ok(snapXml.includes(`<source file='${o}'/>`), o);
    assert.equal((await dom.snapshotCurrent()).getName(), 's1');
    for (const xml of [await dom.getXMLDesc(), await dom.getXMLDesc(2)]) {
      for (const [i, d] of disks.entries()) {
        assert.ok(xml.includes(`<source file='${overlays[i]}'/>`), `${d.target} switched`);
        assert.ok(!xml.includes(`<source file='${d.path}'/>`));
      }
    }
    assert.deepEqual((await queryBlock(dom)).map((b) => [b.target, b.node, b.file, b.depth]),
      disks.map((d, i) => [d.target, `drive-${d.target}-g1-fmt`, overlays[i], 1]));
    for (const o of overlays) {
      assert.equal((await stat(o)).mode & 0o777, 0o600);
      const info = await imageInfo(o);
      assert.equal(info.format, 'qcow2');
    }
    for (const [i, d] of disks.entries()) {
      const info = await imageInfo(overlays[i]!);
      assert.equal(info['backing-filename'], d.path);
      assert.equal(info['backing-filename-format'], 'qcow2');
    }

    for (const [i, d] of disks.entries()) await guestWriteVia(dom, d.target, 0x60 + i, MiB / 2, '512k');
    await dom.destroy();
    for (const [i, d] of disks.entries()) {
      // The base holds what was written before the snapshot, untouched by what came after.
      assert.ok(await hasPattern(d.path, 'qcow2', 0x20 + i, 0, MiB), `${d.target} base`);
      assert.ok(await hasPattern(overlays[i]!, 'qcow2', 0x20 + i, 0, MiB / 2), `${d.target} old data through the overlay`);
      assert.ok(await hasPattern(overlays[i]!, 'qcow2', 0x60 + i, MiB / 2, MiB / 2), `${d.target} new data in the overlay`);
    }
    // Started again, the domain runs on the overlays (chain opened from the headers).
    await dom.create();
    assert.deepEqual((await queryBlock(dom)).map((b) => [b.file, b.depth]), overlays.map((o) => [o, 1]));
  });
}

for (const [what, spec] of [
  // The second node attached fails after QEMU added it: both nodes and both files go.
  ['attaching the last disk\'s overlay fails', 'live-create.node.after=error@2'],
  ['QEMU fails the transaction after the last disk', 'live-create.transaction.abort=error'],
  // Every overlay created and attached, then a failure just before the switch.
  ['a failure once every overlay is attached', 'live-create.switch.before=error'],
] as const) {
  test(`a failing last disk (${what}) leaves query-block, nodes, files and metadata unchanged`, async (t) => {
    const r = await makeRunningEnv(2);
    t.after(() => r.cleanup());
    await r.dom.create();
    await r.dom.snapshotCreateXML('<domainsnapshot><name>s0</name></domainsnapshot>', C.DISK_ONLY);
    const before = await observable(r);
    await assert.rejects(withFailpoints(spec,
      () => r.dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY)),
    (e: unknown) => e instanceof VirError);
    assert.deepEqual(await observable(r), before);
    // And the domain still snapshots fine afterwards.
    await r.dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY);
    assert.deepEqual((await queryBlock(r.dom)).map((b) => b.node), ['drive-vda-g2-fmt', 'drive-vdb-g2-fmt']);
  });
}

test('a second snapshot stacks a new generation on the first: each overlay holds its own writes', async (t) => {
  const r = await makeRunningEnv(2);
  t.after(() => r.cleanup());
  const { dom, disks } = r;
  await dom.create();
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY | C.ATOMIC);
  await guestWriteVia(dom, 'vda', 0x31);
  await dom.snapshotCreateXML('<domainsnapshot><name>s2</name></domainsnapshot>', C.DISK_ONLY | C.ATOMIC);
  await guestWriteVia(dom, 'vda', 0x32, MiB / 2, '512k');
  const s1 = disks.map((d) => d.path.replace(/\.qcow2$/, '.s1'));
  const s2 = disks.map((d) => d.path.replace(/\.qcow2$/, '.s2'));
  assert.deepEqual((await queryBlock(dom)).map((b) => [b.node, b.file, b.depth]),
    disks.map((d, i) => [`drive-${d.target}-g2-fmt`, s2[i], 2]));
  assert.equal((await dom.snapshotCurrent()).getName(), 's2');
  assert.equal((await (await dom.snapshotLookupByName('s2')).getParent()).getName(), 's1');
  await dom.destroy();
  for (const [i, d] of disks.entries()) {
    const info = await imageInfo(s2[i]!);
    assert.equal(info['backing-filename'], s1[i], `${d.target}: s2 sits on s1`);
    assert.equal(info['backing-filename-format'], 'qcow2');
  }
  assert.ok(await hasPattern(s1[0]!, 'qcow2', 0x31, 0, MiB), 'the write between the snapshots is in the first overlay');
  assert.ok(!await hasPattern(s1[0]!, 'qcow2', 0x32, MiB / 2, MiB / 2), 'the first overlay never saw the later write');
  assert.ok(await hasPattern(s2[0]!, 'qcow2', 0x32, MiB / 2, MiB / 2), 'the later write is in the second overlay');
  assert.ok(await hasPattern(s2[0]!, 'qcow2', 0x31, 0, MiB / 2), 'the earlier write shows through the second overlay');
});

test('checks before any effect: existing target file, internal disk, duplicate name, quiesce without agent', async (t) => {
  const r = await makeRunningEnv(2);
  t.after(() => r.cleanup());
  await r.dom.create();
  await r.dom.snapshotCreateXML('<domainsnapshot><name>s0</name></domainsnapshot>', C.DISK_ONLY);
  const before = await observable(r);
  const existing = join(r.env.imageDir, 'vm-0.qcow2');
  const attempts: [string, number, RegExp][] = [
    [`<domainsnapshot><name>x</name><disks><disk name='vda'><source file='${existing}'/></disk></disks></domainsnapshot>`, C.DISK_ONLY, /already exists|in use/],
    ["<domainsnapshot><name>x</name><disks><disk name='vda' snapshot='internal'/></disks></domainsnapshot>", C.DISK_ONLY, /require external disk snapshots/],
    ['<domainsnapshot><name>s0</name></domainsnapshot>', C.DISK_ONLY, /already exists/],
    ['<domainsnapshot><name>x</name></domainsnapshot>', C.DISK_ONLY | C.QUIESCE, /guest agent is not configured/],
    [`<domainsnapshot><name>x</name><disks><disk name='vda'><source file='${join(r.env.imageDir, 'nodir', 'x.qcow2')}'/></disk></disks></domainsnapshot>`, C.DISK_ONLY, /does not exist/],
  ];
  for (const [xml, flags, message] of attempts) {
    await assert.rejects(r.dom.snapshotCreateXML(xml, flags), (e: unknown) => e instanceof VirError && message.test(e.message), xml);
  }
  assert.deepEqual(await observable(r), before);
});

test('QEMU killed right after a snapshot: the chain on disk is consistent and the domain restarts on it', async (t) => {
  const r = await makeRunningEnv(2);
  t.after(() => r.cleanup());
  const { dom, disks, env } = r;
  await dom.create();
  for (const [i, d] of disks.entries()) await guestWriteVia(dom, d.target, 0x30 + i);
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY);
  const pid = Number((await readFile(join(runtimeDirFor(env.stateDir, dom.getUUIDString()), 'qemu.pid'), 'utf8')).trim());
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 500 && await dom.isActive(); i++) await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(await dom.getState(), { state: DomainState.SHUTOFF, reason: ShutoffReason.CRASHED });
  for (const [i, d] of disks.entries()) {
    const overlay = d.path.replace(/\.qcow2$/, '.s1');
    const check = JSON.parse((await run('qemu-img', ['check', '--output=json', overlay])).stdout) as { 'check-errors': number };
    assert.equal(check['check-errors'], 0);
    const chain = JSON.parse((await run('qemu-img', ['info', '--output=json', '--backing-chain', overlay])).stdout) as { filename: string }[];
    assert.deepEqual(chain.map((c) => c.filename), [overlay, d.path]);
    assert.ok(await hasPattern(overlay, 'qcow2', 0x30 + i, 0, MiB));
  }
  assert.match(await dom.getXMLDesc(2), /vm-0\.s1/);
  await waitImagesUnlocked(disks.map((d) => d.path.replace(/\.qcow2$/, '.s1')));
  await dom.create();
  assert.deepEqual((await queryBlock(dom)).map((b) => [b.file, b.depth]), disks.map((d) => [d.path.replace(/\.qcow2$/, '.s1'), 1]));
});

for (const [point, direction] of [
  // One overlay node attached, the other maybe still in flight.
  ['live-create.node.after=crash@1', 'back'],
  ['live-create.switch.after=crash', 'forward'],
  ['live-create.commit.before=crash', 'forward'],
] as const) {
  test(`the snapshotting process killed at ${point}: recovery rolls ${direction}`, async (t) => {
    const r = await makeRunningEnv(2);
    t.after(() => r.cleanup());
    const { dom, disks, env } = r;
    await dom.create();
    const before = await observable(r);
    const child = await runChildOp(env.stateDir, point,
      ['create', 'vm', '<domainsnapshot><name>s1</name></domainsnapshot>', String(C.DISK_ONLY)]);
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    // A new connection recovers on open (the QEMU kept running all along).
    const conn = await env.reopen();
    const again = await conn.domainLookupByName('vm');
    assert.equal((await again.getState()).state, DomainState.RUNNING);
    if (direction === 'back') {
      assert.deepEqual(await observable({ ...r, dom: again }), before);
    } else {
      assert.deepEqual(await again.snapshotListNames(), ['s1']);
      assert.deepEqual((await queryBlock(again)).map((b) => b.node), ['drive-vda-g1-fmt', 'drive-vdb-g1-fmt']);
      assert.match(await again.getXMLDesc(), /vm-1\.s1/);
      assert.match(await again.getXMLDesc(2), /vm-1\.s1/);
    }
    // Either way the files in the image dir match what the metadata says.
    const files = (await readdir(dirname(disks[0]!.path))).sort();
    assert.deepEqual(files, direction === 'back' ? ['vm-0.qcow2', 'vm-1.qcow2'] : ['vm-0.qcow2', 'vm-0.s1', 'vm-1.qcow2', 'vm-1.s1']);
  });
}

test('--reuse-external: a pre-created overlay on the current image is used; one with another backing is refused', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, disks, env } = r;
  await dom.create();
  const good = join(env.imageDir, 'pre.qcow2');
  const bad = join(env.imageDir, 'bad.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', disks[0]!.path, good]);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', bad, '16M']);
  const before = await observable(r);
  await assert.rejects(dom.snapshotCreateXML(
    `<domainsnapshot><name>x</name><disks><disk name='vda'><source file='${bad}'/></disk></disks></domainsnapshot>`, C.DISK_ONLY | C.REUSE_EXT),
  (e: unknown) => e instanceof VirError && /must be a qcow2 image backed by/.test(e.message));
  assert.deepEqual(await observable(r), before);
  await dom.snapshotCreateXML(
    `<domainsnapshot><name>s1</name><disks><disk name='vda'><source file='${good}'/></disk></disks></domainsnapshot>`, C.DISK_ONLY | C.REUSE_EXT);
  assert.deepEqual((await queryBlock(dom)).map((b) => [b.file, b.depth]), [[good, 1]]);
});
