/**
 * The crash matrix (SQLite's "crash at the N-th sync", etcd's failpoints): a child process
 * runs the toy operation and is SIGKILLed at one failpoint; a fresh process then opens the
 * store and recovers; the state must be wholly before or wholly after — and which one is
 * fixed by where the crash happened (before the commit point: before; after it: after).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { openStore } from '../../src/store/open-store.js';
import { openEntries, resourcesToUndo } from '../../src/txn/journal.js';
import { resourceString } from '../../src/txn/resources.js';
import { OPERATION_PHASE_POINTS } from '../../src/txn/failpoints.js';
import { recover } from '../../src/txn/recovery.js';
import { runChild, tempDir } from './child-process.js';
import {
  filesDir, LIVE_KIND, readToyFile, readToyState, setupToyState, toyContext, TOY_AFTER, TOY_BEFORE, TOY_DISKS, type ToyState,
} from './toy-op.js';

function freshState(): string {
  const dir = join(tempDir(), 'state');
  setupToyState(dir);
  return dir;
}

async function recoverInProcess(dir: string): Promise<void> {
  const ctx = toyContext(dir);
  try {
    const reports = await recover(ctx);
    for (const r of reports) assert.equal(r.error, undefined, `recovery of entry ${r.id} failed: ${r.error?.message}`);
  } finally {
    ctx.store.close();
  }
}

/**
 * The write-ahead invariant, checked on the crashed state before recovery: every file
 * that exists was journaled, in a step marked started or done, before it was made.
 */
function assertWriteAhead(dir: string, label: string): void {
  const store = openStore(dir);
  try {
    const entries = openEntries(store);
    assert.equal(entries.length, name0(label) === 'create.journal.before' ? 0 : 1, `${label}: open entries`);
    const journaled = new Set(entries.flatMap((e) => resourcesToUndo(e).map((r) => basename(resourceString(r.resource, 'path')))));
    for (const f of readdirSync(filesDir(dir))) assert.ok(journaled.has(f), `${label}: ${f} exists but was not journaled as started`);
  } finally {
    store.close();
  }
}

function name0(label: string): string {
  return label.split('@')[0]!;
}

/** Points reached on the success path, with how many times; undo.* are never reached there. */
function reachedPoints(op: string, withSwitch: boolean): { name: string; nth: number; committed: boolean }[] {
  const out: { name: string; nth: number; committed: boolean }[] = [];
  for (const p of OPERATION_PHASE_POINTS) {
    if (p.startsWith('undo.') || p.startsWith('finalize.')) continue; // not reached: no undo, no post-commit work
    if (p.startsWith('switch.') && !withSwitch) continue;
    const committed = p === 'commit.after';
    const times = p.startsWith('prepare.step.') ? TOY_DISKS : 1;
    for (let n = 1; n <= times; n++) out.push({ name: `${op}.${p}`, nth: n, committed });
  }
  return out;
}

test('crash at every failpoint of create, then recovery: wholly before or wholly after', async () => {
  const points = reachedPoints('create', false);
  assert.ok(points.length >= 9);
  for (const { name, nth, committed } of points) {
    const dir = freshState();
    const res = await runChild('toy-child', ['create', dir], { SNAPVIRT_FAILPOINTS: `${name}=crash@${nth}` });
    assert.equal(res.signal, 'SIGKILL', `${name}@${nth} should have killed the child: ${res.stderr}`);
    if (!committed) assertWriteAhead(dir, `${name}@${nth}`);
    await recoverInProcess(dir);
    const state = readToyState(dir);
    assert.deepEqual(state, committed ? TOY_AFTER : TOY_BEFORE, `${name}@${nth}`);
    if (committed) assert.equal(readToyFile(dir, 'disk2.s1'), 'overlay 2\n');
  }
});

test('a crash is also recovered by the next operation on the domain, without an explicit recover()', async () => {
  const dir = freshState();
  const res = await runChild('toy-child', ['create', dir], { SNAPVIRT_FAILPOINTS: 'create.prepare.step.after=crash@2' });
  assert.equal(res.signal, 'SIGKILL');
  const mid = readToyState(dir);
  assert.deepEqual(mid.files, ['disk0.s1', 'disk1.s1']);
  assert.equal(mid.openEntries, 1);
  // Running the operation again: lockDomain recovers the interrupted one, then this one succeeds.
  const again = await runChild('toy-child', ['create', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(readToyState(dir), TOY_AFTER);
});

test('a crash during recovery is recovered by the next recovery (idempotent)', async () => {
  for (const fp of ['recover.entry.before', 'recover.undo.resource.before', 'recover.undo.resource.after@2', 'recover.close.before']) {
    const dir = freshState();
    const first = await runChild('toy-child', ['create', dir], { SNAPVIRT_FAILPOINTS: 'create.commit.before=crash' });
    assert.equal(first.signal, 'SIGKILL');
    const [name, nth] = fp.split('@');
    const second = await runChild('toy-child', ['recover', dir], { SNAPVIRT_FAILPOINTS: `${name}=crash@${nth ?? 1}` });
    assert.equal(second.signal, 'SIGKILL', `recovery should have died at ${fp}`);
    const mid: ToyState = readToyState(dir);
    assert.equal(mid.openEntries, 1, `entry still open after crash at ${fp}`);
    const third = await runChild('toy-child', ['recover', dir]);
    assert.equal(third.code, 0, third.stderr);
    assert.deepEqual(readToyState(dir), TOY_BEFORE, fp);
    // And once more: recovering a recovered store changes nothing.
    await recoverInProcess(dir);
    assert.deepEqual(readToyState(dir), TOY_BEFORE);
  }
});

test('a crash during in-process rollback is finished by recovery', async () => {
  const dir = freshState();
  const res = await runChild('toy-child', ['create', dir],
    { SNAPVIRT_FAILPOINTS: 'create.prepare.step.after=error@3,create.undo.step.after=crash@1' });
  assert.equal(res.signal, 'SIGKILL');
  const mid = readToyState(dir);
  assert.deepEqual(mid.files, ['disk0.s1', 'disk1.s1'], 'the newest step was undone before the crash');
  await recoverInProcess(dir);
  assert.deepEqual(readToyState(dir), TOY_BEFORE);
});

test('live switch: a crash before the switch rolls back, after it rolls forward', async () => {
  const points = reachedPoints(LIVE_KIND, true);
  for (const { name, nth, committed } of points) {
    const dir = freshState();
    const res = await runChild('toy-child', ['live', dir], { SNAPVIRT_FAILPOINTS: `${name}=crash@${nth}` });
    assert.equal(res.signal, 'SIGKILL', `${name}@${nth}: ${res.stderr}`);
    await recoverInProcess(dir);
    const switched = name.endsWith('switch.after') || name.includes('commit.');
    assert.deepEqual(readToyState(dir), committed || switched ? TOY_AFTER : TOY_BEFORE, `${name}@${nth}`);
  }
});

test('recover() skips an entry whose domain is locked by a live operation', async () => {
  const dir = freshState();
  const ctx = toyContext(dir);
  const { lockDomain, runOperation } = await import('../../src/txn/operation.js');
  const { TOY_DOMAIN, toySteps } = await import('./toy-op.js');
  let reports: Awaited<ReturnType<typeof recover>> = [];
  await lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
    kind: 'create', domain: TOY_DOMAIN, steps: toySteps(dir).slice(0, 1),
    commit: () => {},
    switch: async () => {
      // Mid-operation, another connection runs recovery: it must leave this entry alone.
      const other = toyContext(dir);
      try {
        reports = await recover(other);
      } finally {
        other.store.close();
      }
    },
  }));
  assert.equal(reports.length, 1);
  assert.equal(reports[0]!.action, 'skipped');
  assert.deepEqual(readToyState(dir).files, ['disk0.s1'], 'the running operation kept its file');
  ctx.store.close();
});
