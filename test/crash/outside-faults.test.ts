/**
 * Faults from outside, each run in a child process like a real command,
 * then recovered in a new process: the world must be wholly as before, with a clear error.
 *
 * - ENOSPC at each step: external overlays for 8 disks on a small tmpfs that has room for
 *   exactly k of them (k = 0…7), and internal snapshots of 3 disks whose images sit on a
 *   tmpfs with ever more room, until the snapshot fits (then it must be wholly after).
 *   Undoing an internal tag writes to the image too, so the space for the tags and their
 *   undo is checked before the first tag: the world is wholly before while the disk is
 *   still full, and no journal entry is left open.
 * - A read-only state directory (read-only bind mount).
 * - A truncated or garbled SQLite file: a clear error, and the file is not overwritten.
 * - qemu-img missing from PATH.
 *
 * SNAPVIRT_CRASH_FULL=1 runs every variant; by default a seeded sample (SNAPVIRT_CRASH_SEED).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DomainUndefineFlags as U, SnapshotCreateFlags as C } from '../../src/api/flags.js';
import { mountReadOnlyBind, mountTmpfs, unmount } from '../helpers/mounts.js';
import { listingOf } from '../helpers/disk-state.js';
import type { ChildOp } from './crash-child.js';
import { buildWorld, DOMAIN, outcomeText, resetWorld, runChild, type BuiltWorld, type Scenario } from './crash-world.js';
import { fastTempDir } from './fast-temp-dir.js';
import { prng, sampleOf } from './seeded.js';
import { classify, describeDifference, pictureOf, type WorldPicture } from './world-state.js';
import { fillLeaving, runAndRecover, usage } from './fault-helpers.js';
import { internalSnapshotNeed } from '../../src/drivers/qemu/images/internal-snapshot-space.js';

const run = promisify(execFile);
const KiB = 1024;

/** SNAPVIRT_CRASH_FULL=1: every k, every room, every operation; otherwise a seeded sample of each. */
const FULL = process.env.SNAPVIRT_CRASH_FULL === '1';
const SEED = Number(process.env.SNAPVIRT_CRASH_SEED ?? 20261125);
/** `items`, or a seeded sample of `count` of them outside the full run. */
function pick<T>(items: readonly T[], count: number, stream: number): T[] {
  return FULL ? [...items] : sampleOf(prng(SEED + stream), items, count);
}

test('ENOSPC at each of 8 overlays: the snapshot is wholly not taken, no overlay is left', async (t) => {
  const tmp = await fastTempDir('snapvirt-enospc-');
  t.after(() => tmp.cleanup());
  let small = '';
  const scenario: Scenario = {
    name: 'external create on a small tmpfs, 8 disks',
    disks: 8,
    async prepare(ctx) {
      small = join(ctx.dirs.root, 'small');
      const disks = Array.from({ length: 8 }, (_, i) =>
        `<disk name='vd${String.fromCharCode(97 + i)}' snapshot='external'><source file='${join(small, `ov-${i}.qcow2`)}'/></disk>`).join('');
      return { op: 'create', domain: DOMAIN, xml: `<domainsnapshot><name>s1</name><disks>${disks}</disks></domainsnapshot>`, flags: C.DISK_ONLY };
    },
  };
  const w = await buildWorld(tmp.path, scenario);
  // How much one overlay takes on tmpfs.
  await resetWorld(w);
  await mountTmpfs(small, 64 << 20);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(w.dirs.imageDirs[0]!, 'vm-0.qcow2'), '-F', 'qcow2', join(small, 'probe.qcow2')]);
  const one = await usage(join(small, 'probe.qcow2'));
  await unmount(small);
  for (const k of pick([0, 1, 2, 3, 4, 5, 6, 7], 3, 1)) {
    await resetWorld(w);
    await mountTmpfs(small, 16 << 20);
    try {
      await fillLeaving(small, k * one + Math.floor(one / 2));
      const res = await runAndRecover(w, w.op, undefined);
      assert.ok(res.failed, `room for ${k} overlays: the snapshot was taken`);
      assert.match(res.error, /No space left on device/, `room for ${k}: the error names the cause`);
      assert.equal(res.side, 'before', `room for ${k} overlays:\n${describeDifference(res.picture, w.before)}`);
      assert.deepEqual(await listingOf(small, { sizes: false }), ['filler 644 file'], `room for ${k}: files left on the tmpfs`);
    } finally {
      await unmount(small);
    }
  }
});

/** Internal snapshot s1 of 3 disks that already have tag A. */
const INTERNAL_ON_SMALL_TMPFS: Scenario = {
  name: 'internal create on a small tmpfs, 3 disks',
  disks: 3,
  async prepare(ctx) {
    await ctx.dom.snapshotCreateXML('<domainsnapshot><name>A</name></domainsnapshot>');
    await ctx.writeData();
    return { op: 'create', domain: DOMAIN, xml: '<domainsnapshot><name>s1</name></domainsnapshot>', flags: 0 };
  },
};

/** The filler is ours: take it out of the picture's listing before comparing. */
function withoutFiller(p: WorldPicture): WorldPicture {
  return { ...p, images: p.images.map((l) => l.filter((e) => !e.startsWith('filler '))) };
}

/** Runs `fn` with the world's image directory moved onto a fresh 32 MiB tmpfs with `room` bytes left free. */
async function onFullTmpfs<T>(w: BuiltWorld, room: number, fn: () => Promise<T>): Promise<T> {
  const images = w.dirs.imageDirs[0]!;
  const aside = `${images}.aside`;
  await rename(images, aside);
  await mountTmpfs(images, 32 << 20);
  try {
    await run('cp', ['-a', '--sparse=always', `${aside}/.`, images]);
    await fillLeaving(images, room);
    return await fn();
  } finally {
    await unmount(images);
    await rm(images, { recursive: true, force: true });
    await rename(aside, images);
  }
}

// Formerly a known failure: the first image had room for its tag, the second did not, and
// undoing the first tag needed space too, so the entry stayed open while the disk was full.
test('ENOSPC during an internal snapshot of 3 disks (room for one tag): refused up front, wholly before while the disk is still full', async (t) => {
  const tmp = await fastTempDir('snapvirt-enospc-');
  t.after(() => tmp.cleanup());
  const w = await buildWorld(tmp.path, INTERNAL_ON_SMALL_TMPFS);
  for (const room of [128 * KiB, 320 * KiB]) {
    await resetWorld(w);
    await onFullTmpfs(w, room, async () => {
      const res = await runAndRecover(w, w.op, undefined);
      assert.ok(res.failed, `room ${room}: the snapshot fitted: choose less room`);
      const picture = withoutFiller(res.picture);
      assert.equal(picture.openJournalEntries, 0, `room ${room}: a journal entry stayed open`);
      assert.equal(JSON.stringify(picture), JSON.stringify(w.before), `room ${room}: not wholly before while the disk is full:\n${describeDifference(picture, w.before)}`);
      assert.match(res.error, /cannot create internal snapshot 's1': No space left on device: .* need \d+ KiB free .* \d+ KiB are free/,
        `room ${room}: unclear error '${res.error}'`);
    });
  }
});

test('ENOSPC: with just the room the check asks for, the tags are taken and undone on the still-full disk', async (t) => {
  const tmp = await fastTempDir('snapvirt-enospc-');
  t.after(() => tmp.cleanup());
  const w = await buildWorld(tmp.path, INTERNAL_ON_SMALL_TMPFS);
  await resetWorld(w);
  const images = (await listingOf(w.dirs.imageDirs[0]!, { sizes: false })).map((e) => join(w.dirs.imageDirs[0]!, e.split(' ')[0]!));
  let need = 0;
  for (const image of images) need += await internalSnapshotNeed(image, 's1');
  // An error at the commit point undoes every tag: each undo writes a new snapshot table.
  const res = await onFullTmpfs(w, need + 4 * KiB, async () => {
    const op = await runChild(w.dirs.stateDir, w.op, 'create.commit.before=error');
    const recovery = await runChild(w.dirs.stateDir, { op: 'open' }, '');
    return { op, recovery, picture: withoutFiller(await pictureOf(w.dirs, DOMAIN)) };
  });
  assert.equal(res.op.code, 2, outcomeText(res.op));
  assert.match(res.op.report?.error ?? '', /failpoint create\.commit\.before/, 'the tags were refused: the check asks for more than the room it measured');
  assert.equal(res.recovery.code, 0, outcomeText(res.recovery));
  assert.equal(res.picture.openJournalEntries, 0, 'an undo ran out of space');
  assert.equal(JSON.stringify(res.picture), JSON.stringify(w.before), describeDifference(res.picture, w.before));
});

test('ENOSPC while tagging 3 images for an internal snapshot: wholly before (with the disk still full) until it fits, then wholly after', async (t) => {
  const tmp = await fastTempDir('snapvirt-enospc-');
  t.after(() => tmp.cleanup());
  const w = await buildWorld(tmp.path, INTERNAL_ON_SMALL_TMPFS);
  await resetWorld(w);
  const clean = await runChild(w.dirs.stateDir, w.op, '');
  assert.equal(clean.code, 0, outcomeText(clean));
  const after = await pictureOf(w.dirs, DOMAIN);
  const failures: number[] = [];
  let fitted = -1;
  // Rooms of 0, 16, 32… KiB in the full run; 0, 64 KiB and doubling by default.
  const next = (room: number): number => (FULL ? room + 16 * KiB : Math.max(64 * KiB, room * 2));
  for (let room = 0; room <= 8192 * KiB && fitted < 0; room = next(room)) {
    await resetWorld(w);
    await onFullTmpfs(w, room, async () => {
      const res = await runAndRecover(w, w.op, after);
      const picture = withoutFiller(res.picture);
      // The check comes before any tag, so no entry is ever left open for lack of space.
      assert.equal(picture.openJournalEntries, 0, `room ${room}: a journal entry stayed open`);
      const side = classify(picture, w.before, after);
      if (res.failed) {
        assert.match(res.error, /No space left on device/, `room ${room}: unclear error '${res.error}'`);
        assert.equal(side, 'before', `room ${room}: failed but not wholly before:\n${describeDifference(picture, w.before)}`);
        failures.push(room);
      } else {
        assert.equal(side, 'after', `room ${room}: succeeded but not wholly after:\n${describeDifference(picture, after)}`);
        fitted = room;
      }
    });
  }
  t.diagnostic(`internal snapshot refused for lack of space with ${failures.length} rooms (0…${failures.at(-1)} bytes), fitted at ${fitted}`);
  assert.ok(failures.length > 0, 'the smallest room did not fail');
  assert.ok(fitted > 0, 'the snapshot never fitted');
});

/** A world with internal snapshot A and external snapshot B (the disks on B's overlays). */
const MIXED: Scenario = {
  name: 'internal A, then external B, 2 disks',
  disks: 2,
  async prepare(ctx) {
    await ctx.dom.snapshotCreateXML('<domainsnapshot><name>A</name></domainsnapshot>');
    await ctx.writeData();
    await ctx.dom.snapshotCreateXML('<domainsnapshot><name>B</name></domainsnapshot>', C.DISK_ONLY);
    await ctx.writeData();
    return { op: 'create', domain: DOMAIN, xml: '<domainsnapshot><name>s1</name></domainsnapshot>', flags: 0 };
  },
};

/** Every mutating operation of the MIXED world. */
const MIXED_OPS: ChildOp[] = [
  { op: 'create', domain: DOMAIN, xml: '<domainsnapshot><name>i1</name></domainsnapshot>', flags: 0 },
  { op: 'create', domain: DOMAIN, xml: '<domainsnapshot><name>e1</name></domainsnapshot>', flags: C.DISK_ONLY },
  { op: 'revert', domain: DOMAIN, snapshot: 'A', flags: 0 },
  { op: 'revert', domain: DOMAIN, snapshot: 'B', flags: 0 },
  { op: 'delete', domain: DOMAIN, snapshot: 'A', flags: 0 },
  { op: 'delete', domain: DOMAIN, snapshot: 'B', flags: 0 },
  { op: 'undefine', domain: DOMAIN, flags: U.SNAPSHOTS_METADATA },
];

test('qemu-img missing from PATH: every operation fails with a clear error and changes nothing', async (t) => {
  const tmp = await fastTempDir('snapvirt-noqemuimg-');
  t.after(() => tmp.cleanup());
  const w = await buildWorld(tmp.path, MIXED);
  const emptyBin = join(tmp.path, 'empty-bin');
  await mkdir(emptyBin);
  const results: string[] = [];
  // undefine is metadata only, and an external create or revert (to B) writes its overlays
  // and reads image headers natively: they need no qemu-img, so there is nothing to prove there.
  const needsQemuImg = (o: ChildOp): boolean => o.op !== 'undefine' &&
    !(o.op === 'create' && o.flags === C.DISK_ONLY) && !(o.op === 'revert' && o.snapshot === 'B');
  for (const op of pick(MIXED_OPS.filter(needsQemuImg), 3, 2)) {
    await resetWorld(w);
    const res = await runAndRecover(w, op, undefined, { PATH: emptyBin, SNAPVIRT_QEMU_IMG: '' });
    const label = JSON.stringify(op).slice(0, 90);
    assert.ok(res.failed, `${label}: succeeded without qemu-img`);
    assert.match(res.error, /qemu-img/, `${label}: the error does not name qemu-img: '${res.error}'`);
    assert.equal(res.side, 'before', `${label}:\n${describeDifference(res.picture, w.before)}`);
    results.push(res.error);
  }
  t.diagnostic(`errors: ${[...new Set(results)].join(' | ')}`);
});

test('read-only state directory: every operation fails with a clear error and changes nothing', async (t) => {
  const tmp = await fastTempDir('snapvirt-rostate-');
  t.after(() => tmp.cleanup());
  const w = await buildWorld(tmp.path, MIXED);
  for (const op of pick(MIXED_OPS, 3, 3)) {
    await resetWorld(w);
    await mountReadOnlyBind(w.dirs.stateDir, w.dirs.stateDir);
    let res;
    try {
      res = await runChild(w.dirs.stateDir, op, '');
    } finally {
      await unmount(w.dirs.stateDir);
    }
    const label = JSON.stringify(op).slice(0, 90);
    assert.equal(res.code, 2, `${label}: ${outcomeText(res)}`);
    assert.match(res.report?.error ?? '', /state directory '.*' is not writable|read-only|Read-only/i, `${label}: unclear error`);
    const picture = await pictureOf(w.dirs, DOMAIN);
    assert.equal(classify(picture, w.before, w.before), 'before', `${label}:\n${describeDifference(picture, w.before)}`);
  }
});

/** Damages the database at `path` the named way. */
async function damage(path: string, how: 'truncated' | 'garbled'): Promise<void> {
  if (how === 'truncated') {
    await truncate(path, Math.floor((await stat(path)).size / 2));
    return;
  }
  const bytes = await readFile(path);
  for (let i = 4096; i < bytes.length; i += 97) bytes[i] = (bytes[i]! ^ 0xa5) & 0xff;
  await writeFile(path, bytes);
}

for (const how of ['truncated', 'garbled'] as const) {
  test(`${how} SQLite file: the CLI and every operation report it, nothing is overwritten`, async (t) => {
    const tmp = await fastTempDir('snapvirt-baddb-');
    t.after(() => tmp.cleanup());
    const w = await buildWorld(tmp.path, MIXED);
    await resetWorld(w);
    const db = join(w.dirs.stateDir, 'snapvirt.db');
    // Fold the WAL in first, so the damage hits the only copy of the data.
    await runChild(w.dirs.stateDir, { op: 'open' }, '');
    await rm(`${db}-wal`, { force: true });
    await rm(`${db}-shm`, { force: true });
    await damage(db, how);
    const sha = async (): Promise<string> => createHash('sha256').update(await readFile(db)).digest('hex');
    const shaBefore = await sha();
    const imagesBefore = await listingOf(w.dirs.imageDirs[0]!);
    const bin = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));
    const cli = await run(process.execPath, [bin, '-c', 'qemu:///session', 'snapshot-list', DOMAIN], {
      env: { ...process.env, SNAPVIRT_STATE_DIR: w.dirs.stateDir },
    }).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    assert.equal(cli.code, 1, 'the CLI exits 1');
    assert.match(cli.stderr, /^error: .*state database '.*' is damaged/m, `unclear CLI error: ${cli.stderr}`);
    for (const op of pick(MIXED_OPS, 3, 4)) {
      const res = await runChild(w.dirs.stateDir, op, '');
      assert.equal(res.code, 2, `${JSON.stringify(op).slice(0, 80)}: ${outcomeText(res)}`);
      assert.match(res.report?.error ?? '', /is damaged/);
    }
    assert.equal(await sha(), shaBefore, 'the damaged database was changed');
    assert.deepEqual(await listingOf(w.dirs.imageDirs[0]!), imagesBefore, 'images changed');
  });
}
