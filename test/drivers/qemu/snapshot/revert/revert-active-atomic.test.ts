/**
 * Revert of a running domain is all or nothing, including the run state: an error or a
 * killed process at every failpoint of the revert ends, after recovery in a new process,
 * wholly before (the same QEMU process running in its state, its disks and data, the
 * same metadata) or wholly after (a new QEMU running "from snapshot" on the snapshot's
 * data). Disk-only (new QEMU prepared beside the old one), internal with memory (the
 * current state saved as the way back, in the same QEMU) and external with memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { Domain } from '../../../../../src/api/domain.js';
import { VirError } from '../../../../../src/api/errors.js';
import { DomainState, RunningReason, SnapshotCreateFlags as C, SnapshotRevertFlags as R } from '../../../../../src/api/flags.js';
import { main } from '../../../../../src/cli/main.js';
import { DB_FILE_NAME } from '../../../../../src/store/open-store.js';
import { diskSourcesIn } from '../../../../helpers/domain-fixture.js';
import { runChildOp } from '../../../../helpers/run-child-op.js';
import { guestWriteVia, makeRunningEnv, queryBlock, type RunningEnv } from '../../support/active-env.js';

const run = promisify(execFile);
const K64 = 64 * 1024;
const OLD = 0x22;
const SNAP = 0x11;

/** True when `file` (and its chain) reads `pattern` over the first 64 KiB; force-share, as a QEMU may hold it. */
async function reads(file: string, pattern: number): Promise<boolean> {
  return run('qemu-io', ['-r', '-U', '-f', 'qcow2', '-c', `read -P ${pattern} 0 ${K64}`, file]).then(() => true, () => false);
}

/** Writes `pattern` into every disk as the guest would, and flushes it to the image. */
async function guestWrite(r: RunningEnv, dom: Domain, pattern: number): Promise<void> {
  for (const d of r.disks) {
    await guestWriteVia(dom, d.target, pattern, 0, '64k');
    await dom.qemuMonitorCommand(`qemu-io -d /machine/peripheral/disk-${d.target}/virtio-backend "flush"`, 1);
  }
}

/** What must be exactly equal before and after a revert that rolled back. */
interface Picture {
  state: { state: number; reason: number };
  pid: number | null;
  current: string | null;
  persistent: string[];
  blocks: { target: string; node: string; file: string; depth: number }[] | null;
  files: string[];
  /** The state dir's run/ (QEMU runtime dirs, switch markers). */
  runDir: string[];
  openEntries: number;
}

function storeRow(stateDir: string): { pid: number | null; openEntries: number } {
  const db = new Database(join(stateDir, DB_FILE_NAME), { readonly: true });
  try {
    const rt = (db.prepare('SELECT runtime FROM domains').get() as { runtime: string | null }).runtime;
    const open = (db.prepare('SELECT count(*) AS n FROM journal WHERE closed_at IS NULL').get() as { n: number }).n;
    return { pid: rt === null ? null : (JSON.parse(rt) as { pid: number }).pid, openEntries: open };
  } finally {
    db.close();
  }
}

async function picture(r: RunningEnv, dom: Domain): Promise<Picture> {
  const state = await dom.getState();
  const running = state.state !== DomainState.SHUTOFF;
  return {
    state: { state: state.state, reason: state.reason },
    ...storeRow(r.env.stateDir),
    current: (await dom.hasCurrentSnapshot()) ? (await dom.snapshotCurrent()).getName() : null,
    persistent: diskSourcesIn(await dom.getXMLDesc(2)),
    blocks: running ? await queryBlock(dom) : null,
    files: (await readdir(r.env.imageDir)).sort(),
    runDir: (await readdir(join(r.env.stateDir, 'run'), { recursive: true })).sort(),
  };
}

/** Runs the revert with `failpoints` in a child process, then recovers in a fresh connection; returns the domain. */
async function revertInChild(r: RunningEnv, failpoints: string, snapshot: string, flags: number): Promise<{ dom: Domain; child: Awaited<ReturnType<typeof runChildOp>> }> {
  const child = await runChildOp(r.env.stateDir, failpoints, ['revert', 'vm', snapshot, String(flags)]);
  const conn = await r.env.reopen();
  return { dom: await conn.domainLookupByName('vm'), child };
}

/** Asserts the domain is wholly after: a new QEMU running from snapshot `name` on its data. */
async function assertAfter(r: RunningEnv, dom: Domain, before: Picture, name: string, what: string): Promise<void> {
  const now = await picture(r, dom);
  assert.deepEqual(now.state, { state: DomainState.RUNNING, reason: RunningReason.FROM_SNAPSHOT }, what);
  assert.equal(now.current, name, what);
  assert.equal(now.openEntries, 0, what);
  assert.notEqual(now.pid, before.pid, `${what}: a new QEMU`);
  assert.deepEqual(now.blocks!.map((b) => b.file), now.persistent, `${what}: QEMU runs on the defined disks`);
  for (const b of now.blocks!) assert.ok(await reads(b.file, SNAP), `${what}: ${b.file} presents the snapshot's data`);
}

/** `snapvirt -c qemu:///session domstate vm --reason`, in this process. */
async function domstateReason(r: RunningEnv): Promise<string> {
  let out = '';
  const saved = process.env.SNAPVIRT_STATE_DIR;
  process.env.SNAPVIRT_STATE_DIR = r.env.stateDir;
  try {
    await main(['-c', 'qemu:///session', 'domstate', 'vm', '--reason'], { out: (t) => { out += t; }, err: () => undefined });
  } finally {
    if (saved === undefined) delete process.env.SNAPVIRT_STATE_DIR;
    else process.env.SNAPVIRT_STATE_DIR = saved;
  }
  return out;
}

async function withFailpoints<T>(spec: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.SNAPVIRT_FAILPOINTS;
  process.env.SNAPVIRT_FAILPOINTS = spec;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.SNAPVIRT_FAILPOINTS;
    else process.env.SNAPVIRT_FAILPOINTS = saved;
  }
}

/** npm test runs one point per protocol phase; SNAPVIRT_CRASH_FULL=1 every point. */
const FULL = process.env.SNAPVIRT_CRASH_FULL === '1';

// The failpoints a revert of a running 1-disk domain to a disk-only snapshot reaches, in
// order: 2 steps (the new image, the new QEMU; the post-commit work is finalize). The
// switch (stopping the old QEMU) decides the side.
const BEFORE_SWITCH = [
  'live-revert.journal.before', 'live-revert.journal.after',
  'live-revert.prepare.step.before@1', 'live-revert.prepare.step.after@1',
  'live-revert.prepare.step.before@2', 'live-revert.prepare.step.after@2',
  'live-revert.switch.before',
];
const AFTER_SWITCH = [
  'live-revert.switch.after', 'live-revert.commit.before', 'live-revert.commit.after',
  'live-revert.finalize.before', 'live-revert.finalize.after',
];

test('running revert to a disk-only snapshot: a crash at every failpoint ends wholly before or wholly after', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  let dom = r.dom;
  await dom.create();
  await guestWrite(r, dom, SNAP);
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY);
  await guestWrite(r, dom, OLD);
  // Recovery crashing in turn (rolling back, then rolling forward) must be finished by the next one.
  const sample = new Set(['live-revert.journal.after', 'live-revert.prepare.step.after@1', 'live-revert.prepare.step.before@2',
    'live-revert.prepare.step.after@2', 'live-revert.switch.before', 'live-revert.switch.after', 'live-revert.finalize.before']);
  const cases: { points: string; side: 'before' | 'after' }[] = [
    ...BEFORE_SWITCH.filter((p) => FULL || sample.has(p))
      .map((p) => ({ points: `${p.replace(/@\d+$/, '')}=crash${/@\d+$/.exec(p)?.[0] ?? ''}`, side: 'before' as const })),
    ...AFTER_SWITCH.filter((p) => FULL || sample.has(p)).map((p) => ({ points: `${p}=crash`, side: 'after' as const })),
    // Killed while rolling back in process (after an error before the switch).
    { points: 'live-revert.switch.before=error,live-revert.undo.step.after=crash@1', side: 'before' },
    // An error once the old QEMU is stopped cannot roll back: the next open finishes the revert.
    { points: 'live-revert.commit.before=error', side: 'after' },
  ];
  for (const c of cases) {
    const before = await picture(r, dom);
    assert.ok(await reads(before.blocks![0]!.file, OLD), 'the world starts on the data written after the snapshot');
    const { dom: next, child } = await revertInChild(r, c.points, 's1', R.RUNNING);
    dom = next;
    if (c.points.endsWith('=error')) assert.match(child.stderr, /failpoint/, c.points);
    else assert.equal(child.signal, 'SIGKILL', `${c.points}: ${child.stderr}`);
    if (c.side === 'before') {
      assert.deepEqual(await picture(r, dom), before, `${c.points}: wholly before (same QEMU, disks, metadata)`);
      assert.ok(await reads(before.blocks![0]!.file, OLD), `${c.points}: the old QEMU's data`);
    } else {
      await assertAfter(r, dom, before, 's1', c.points);
      await guestWrite(r, dom, OLD);
    }
  }
  // A crash inside recovery of a rolled-back revert, then a clean recovery.
  const before = await picture(r, dom);
  await runChildOp(r.env.stateDir, 'live-revert.prepare.step.after=crash@2', ['revert', 'vm', 's1', String(R.RUNNING)]);
  const again = await runChildOp(r.env.stateDir, 'recover.undo.resource.after=crash', ['revert', 'vm', 'nope', '0']);
  assert.equal(again.signal, 'SIGKILL', again.stderr);
  dom = await (await r.env.reopen()).domainLookupByName('vm');
  assert.deepEqual(await picture(r, dom), before, 'recovery interrupted, then finished: wholly before');
});

test('running revert to a disk-only snapshot: an error at every failpoint before the switch changes nothing', async (t) => {
  const r = await makeRunningEnv(2);
  t.after(() => r.cleanup());
  let dom = r.dom;
  await dom.create();
  await guestWrite(r, dom, SNAP);
  let s1 = await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY);
  await dom.suspend();
  await guestWrite(r, dom, OLD);
  const before = await picture(r, dom);
  assert.equal(before.state.state, DomainState.PAUSED);
  const points = [
    ...BEFORE_SWITCH.map((p) => `${p.replace(/@\d+$/, '')}=error${/@\d+$/.exec(p)?.[0] ?? ''}`),
    // The second disk's image, the new QEMU, and the rollback failing half-way (recovery finishes it).
    'live-revert.prepare.step.after=error@2',
    'live-revert.prepare.step.before=error@3', 'live-revert.prepare.step.after=error@3',
    'live-revert.switch.before=error,live-revert.undo.step.before=error@2',
  ];
  for (const p of points) {
    await withFailpoints(p, () => assert.rejects(s1.revert(R.RUNNING), (e: unknown) => e instanceof VirError && /failpoint/.test(e.message), p));
    if (p.includes('undo.step')) {
      // The rollback failed half-way: the next open finishes it.
      dom = await (await r.env.reopen()).domainLookupByName('vm');
      s1 = await dom.snapshotLookupByName('s1');
    }
    assert.deepEqual(await picture(r, dom), before, `${p}: wholly before, still paused`);
    for (const b of before.blocks!) assert.ok(await reads(b.file, OLD), `${p}: ${b.file}`);
  }
  // And the revert itself, with --paused: a new QEMU, paused from snapshot, on the snapshot's data.
  await s1.revert(R.PAUSED);
  const after = await picture(r, dom);
  assert.equal(after.state.state, DomainState.PAUSED);
  assert.equal(await domstateReason(r), 'paused (from snapshot)\n\n');
  assert.notEqual(after.pid, before.pid);
  for (const b of after.blocks!) assert.ok(await reads(b.file, SNAP), b.file);
});

test('running revert to an internal snapshot with memory: the way back is the saved current state', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  let dom = r.dom;
  await dom.create();
  await guestWrite(r, dom, SNAP);
  await dom.snapshotCreateXML('<domainsnapshot><name>m1</name></domainsnapshot>');
  await guestWrite(r, dom, OLD);
  const tags = async (d: Domain): Promise<string[]> =>
    [...(await d.qemuMonitorCommand('info snapshots', 1)).matchAll(/^--\s+(\S+)/gm)].map((m) => m[1]!).sort();
  // Steps: stop the vCPUs, save the way back, load the snapshot; resuming is post-commit
  // work (finalize). No switch: the commit decides the side.
  const steps = [1, 2, 3].flatMap((n) => [`prepare.step.before@${n}`, `prepare.step.after@${n}`]);
  const beforeCommit = FULL
    ? ['journal.before', 'journal.after', ...steps, 'commit.before']
    : ['journal.after', 'prepare.step.after@1', 'prepare.step.after@2', 'prepare.step.after@3', 'commit.before'];
  const afterCommit = FULL ? ['commit.after', 'finalize.before', 'finalize.after'] : ['commit.after'];
  for (const [p, side] of [...beforeCommit.map((x) => [x, 'before'] as const), ...afterCommit.map((x) => [x, 'after'] as const)]) {
    const before = await picture(r, dom);
    const [name, nth] = p.split('@');
    const { dom: next, child } = await revertInChild(r, `live-revert.${name}=crash${nth ? `@${nth}` : ''}`, 'm1', 0);
    dom = next;
    assert.equal(child.signal, 'SIGKILL', `${p}: ${child.stderr}`);
    if (side === 'before') {
      assert.deepEqual(await picture(r, dom), before, `${p}: wholly before, running`);
      assert.ok(await reads(before.blocks![0]!.file, OLD), `${p}: the current data is back`);
    } else {
      const now = await picture(r, dom);
      assert.deepEqual(now.state, { state: DomainState.RUNNING, reason: RunningReason.FROM_SNAPSHOT }, `${p}: resumed by recovery`);
      assert.equal(now.pid, before.pid, `${p}: the same QEMU loaded the snapshot`);
      assert.equal(now.current, 'm1');
      assert.equal(now.openEntries, 0);
      assert.ok(await reads(now.blocks![0]!.file, SNAP), `${p}: the snapshot's data`);
      await guestWrite(r, dom, OLD);
    }
    assert.deepEqual(await tags(dom), ['m1'], `${p}: the temporary tag is gone`);
  }

  // An error while loading: in process, rolled back at once.
  const b2 = await picture(r, dom);
  await withFailpoints('live-revert.prepare.step.after=error@3', () =>
    assert.rejects((async () => (await dom.snapshotLookupByName('m1')).revert())(), /failpoint/));
  assert.deepEqual(await picture(r, dom), b2);
  assert.ok(await reads(b2.blocks![0]!.file, OLD));
});

test('running revert to an external snapshot with memory: killed before the switch, after it', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  let dom = r.dom;
  await dom.create();
  await guestWrite(r, dom, SNAP);
  const mem = join(r.env.imageDir, 'e1.mem');
  await dom.snapshotCreateXML(`<domainsnapshot><name>e1</name><memory snapshot='external' file='${mem}'/></domainsnapshot>`);
  await guestWrite(r, dom, OLD);
  // Step 2 starts the new QEMU and loads the memory file into it.
  const points = FULL ? [...BEFORE_SWITCH, ...AFTER_SWITCH] : ['live-revert.prepare.step.after@2', 'live-revert.switch.after'];
  for (const p of points) {
    const before = await picture(r, dom);
    const out = await revertInChild(r, `${p.replace(/@\d+$/, '')}=crash${/@\d+$/.exec(p)?.[0] ?? ''}`, 'e1', 0);
    dom = out.dom;
    assert.equal(out.child.signal, 'SIGKILL', `${p}: ${out.child.stderr}`);
    if (BEFORE_SWITCH.includes(p)) {
      assert.deepEqual(await picture(r, dom), before, `${p}: wholly before`);
    } else {
      await assertAfter(r, dom, before, 'e1', `external memory, killed at ${p}`);
      await guestWrite(r, dom, OLD);
    }
  }
});
