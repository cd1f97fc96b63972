import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isVirError, VirErrorCode } from '../../src/api/errors.js';
import { openEntries, loadEntry } from '../../src/txn/journal.js';
import { lockDomain, nothingCreated, runOperation, undoErrorsOf, type Step } from '../../src/txn/operation.js';
import { tempDir } from './child-process.js';
import {
  filesDir, LIVE_KIND, readToyState, runToyCreate, setupToyState, toyContext, toySteps, TOY_AFTER, TOY_BEFORE, TOY_DOMAIN,
} from './toy-op.js';

function freshState(): string {
  const dir = join(tempDir(), 'state');
  setupToyState(dir);
  return dir;
}

/** Steps that log do/undo calls and fail where told. */
function loggingSteps(dir: string, n: number, log: string[], failAt: number | undefined, undoFailAt?: number): Step[] {
  return Array.from({ length: n }, (_, i): Step => {
    const path = join(filesDir(dir), `f${i}`);
    return {
      name: `s${i}`,
      resources: [{ kind: 'file-created', path }],
      async do() {
        log.push(`do ${i}`);
        writeFileSync(path, 'x', { flag: 'wx' });
        if (i === failAt) throw new Error(`step ${i} failed`);
      },
      async undo() {
        log.push(`undo ${i}`);
        if (i === undoFailAt) throw new Error(`undo ${i} failed`);
        const { unlinkSync } = await import('node:fs');
        unlinkSync(path);
      },
    };
  });
}

test('a successful operation commits everything and closes its journal entry', async () => {
  const dir = freshState();
  const ctx = toyContext(dir);
  await runToyCreate(ctx);
  ctx.store.close();
  assert.deepEqual(readToyState(dir), TOY_AFTER);
});

test('a failure at step k undoes steps k..0 in reverse and reports the step error', async () => {
  for (let k = 0; k < 4; k++) {
    const dir = freshState();
    const ctx = toyContext(dir);
    const log: string[] = [];
    let committed = false;
    await assert.rejects(
      lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
        kind: 'create', domain: TOY_DOMAIN, steps: loggingSteps(dir, 4, log, k),
        commit: () => { committed = true; },
      })),
      new RegExp(`^Error: step ${k} failed$`),
    );
    const expected = [...Array.from({ length: k + 1 }, (_, i) => `do ${i}`), ...Array.from({ length: k + 1 }, (_, i) => `undo ${k - i}`)];
    assert.deepEqual(log, expected, `failure at ${k}`);
    assert.equal(committed, false);
    assert.equal(openEntries(ctx.store).length, 0);
    const last = ctx.store.journal.listRecent(1)[0]!;
    assert.equal(last.outcome, 'rolled-back');
    assert.equal(last.error, `step ${k} failed`);
    ctx.store.close();
    assert.deepEqual(readToyState(dir), TOY_BEFORE);
  }
});

test('a commit that throws rolls back the metadata and undoes every step', async () => {
  const dir = freshState();
  const ctx = toyContext(dir);
  const log: string[] = [];
  await assert.rejects(lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
    kind: 'create', domain: TOY_DOMAIN, steps: loggingSteps(dir, 2, log, undefined),
    commit: (store) => {
      store.domains.update(TOY_DOMAIN.uuid, { persistentXml: '<domain>half</domain>' });
      throw new Error('commit exploded');
    },
  })), /commit exploded/);
  assert.deepEqual(log, ['do 0', 'do 1', 'undo 1', 'undo 0']);
  ctx.store.close();
  assert.deepEqual(readToyState(dir), TOY_BEFORE);
});

test('a deferred constraint failing at COMMIT rolls everything back', async () => {
  const dir = freshState();
  const ctx = toyContext(dir);
  await assert.rejects(lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
    kind: 'create', domain: TOY_DOMAIN, steps: loggingSteps(dir, 1, [], undefined),
    commit: (store) => {
      store.snapshots.insert({ domainUuid: TOY_DOMAIN.uuid, name: 'orphan', xml: '<x/>', parent: 'missing' });
    },
  })), (e: unknown) => isVirError(e, VirErrorCode.INTERNAL_ERROR) && /FOREIGN KEY/.test(e.message));
  ctx.store.close();
  assert.deepEqual(readToyState(dir), TOY_BEFORE);
});

test('an undo failure is attached to the first error, not masking it, and leaves the entry for recovery', async () => {
  const dir = freshState();
  const ctx = toyContext(dir);
  const log: string[] = [];
  const warnings: string[] = [];
  const ctx2 = { ...ctx, warn: (m: string) => warnings.push(m) };
  let caught: unknown;
  try {
    await lockDomain(ctx2, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx2, lock, {
      kind: 'create', domain: TOY_DOMAIN, steps: loggingSteps(dir, 3, log, 2, 1), commit: () => {},
    }));
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof Error);
  assert.equal(caught.message, 'step 2 failed');
  assert.deepEqual(undoErrorsOf(caught).map((e) => e.message), ['undo 1 failed']);
  assert.deepEqual(log, ['do 0', 'do 1', 'do 2', 'undo 2', 'undo 1', 'undo 0']);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /cannot undo step 's1'/);
  const open = openEntries(ctx.store);
  assert.equal(open.length, 1);
  assert.equal(open[0]!.phase, 'rollback-failed');
  assert.deepEqual(open[0]!.progress, ['undone', 'done', 'undone']);
  // The next operation on the domain recovers it first: recovery undoes by resource (unlinks f1).
  assert.ok(existsSync(join(filesDir(dir), 'f1')));
  await lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', async () => {});
  assert.equal(existsSync(join(filesDir(dir), 'f1')), false);
  assert.equal(openEntries(ctx.store).length, 0);
  assert.equal(loadEntry(ctx.store, open[0]!.id).outcome, 'rolled-back');
  ctx.store.close();
});

test('steps without an undo closure are undone through their journaled resources', async () => {
  const dir = freshState();
  const ctx = toyContext(dir);
  const paths = [0, 1].map((i) => join(filesDir(dir), `r${i}`));
  await assert.rejects(lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
    kind: 'create', domain: TOY_DOMAIN,
    steps: [
      { name: 'a', resources: [{ kind: 'file-created', path: paths[0]! }], do: async () => writeFileSync(paths[0]!, 'a') },
      {
        name: 'b',
        do: async (sc) => {
          sc.addResource({ kind: 'file-created', path: paths[1]! });
          writeFileSync(paths[1]!, 'b');
          throw new Error('b failed after creating its file');
        },
      },
    ],
    commit: () => {},
  })), /b failed/);
  assert.equal(existsSync(paths[0]!), false);
  assert.equal(existsSync(paths[1]!), false);
  const last = ctx.store.journal.listRecent(1)[0]!;
  assert.match(last.intent, /r1/); // the resource added while running was journaled
  ctx.store.close();
});

test('runOperation refuses without the lock, with an unknown resource kind, or an undeclared kind', async () => {
  const dir = freshState();
  const ctx = toyContext(dir);
  await lockDomain(ctx, TOY_DOMAIN.uuid, 'x', async (lock) => {
    await assert.rejects(runOperation(ctx, lock, {
      kind: 'create', domain: { uuid: '00000000-0000-0000-0000-000000000000', name: 'other' }, steps: [], commit: () => {},
    }), /without holding its lock/);
    await assert.rejects(runOperation(ctx, lock, {
      kind: 'create', domain: TOY_DOMAIN, steps: [{ name: 'z', resources: [{ kind: 'nope' }], do: async () => {} }], commit: () => {},
    }), /no handler registered for journal resource kind 'nope'/);
    await assert.rejects(runOperation(ctx, lock, { kind: 'frobnicate', domain: TOY_DOMAIN, steps: [], commit: () => {} }),
      /undeclared operation kind/);
    lock.release();
    await assert.rejects(runOperation(ctx, lock, { kind: 'create', domain: TOY_DOMAIN, steps: [], commit: () => {} }),
      /without holding its lock/);
  });
  assert.equal(ctx.store.journal.listRecent().length, 0, 'refused before journaling');
  ctx.store.close();
});

test('file-obsolete resources are removed only after the commit', async () => {
  const dir = freshState();
  const ctx = toyContext(dir);
  const old = join(filesDir(dir), 'old-overlay');
  writeFileSync(old, 'merged');
  const steps = (fail: boolean): Step[] => [{
    name: 'merge', resources: [{ kind: 'file-obsolete', path: old }],
    do: async () => { if (fail) throw new Error('merge failed'); },
  }];
  await assert.rejects(lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-delete', (lock) =>
    runOperation(ctx, lock, { kind: 'delete', domain: TOY_DOMAIN, steps: steps(true), commit: () => {} })), /merge failed/);
  assert.ok(existsSync(old), 'a rollback never loses the file');
  await lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-delete', (lock) =>
    runOperation(ctx, lock, { kind: 'delete', domain: TOY_DOMAIN, steps: steps(false), commit: () => {} }));
  assert.equal(existsSync(old), false);
  assert.equal(openEntries(ctx.store).length, 0);
  ctx.store.close();
});

test('finalize resources: journaled with the intent, never undone, finished after the commit (and by recovery)', async () => {
  const dir = freshState();
  const ctx = toyContext(dir);
  const old = join(filesDir(dir), 'old-overlay');
  writeFileSync(old, 'merged');
  const run = (fail: 'step' | 'finalize' | undefined): Promise<void> => lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-delete', (lock) =>
    runOperation(ctx, lock, {
      kind: 'delete', domain: TOY_DOMAIN,
      steps: [{
        name: 'check',
        // A resource learnt while running rewrites the journaled steps: the post-commit work must stay.
        do: async (sctx) => {
          sctx.addResource({ kind: 'file-created', path: join(filesDir(dir), 'new') });
          writeFileSync(join(filesDir(dir), 'new'), 'x');
          if (fail === 'step') throw new Error('step failed');
        },
      }],
      commit: () => {},
      finalize: [{ kind: 'file-obsolete', path: old }],
    }));
  await assert.rejects(run('step'), /step failed/);
  assert.ok(existsSync(old), 'a rollback never runs post-commit work');
  assert.equal(ctx.store.journal.listRecent(1)[0]!.outcome, 'rolled-back');
  // Finalizing fails once (the file is a directory for a moment): the entry stays open, committed.
  const { mkdirSync, rmSync } = await import('node:fs');
  rmSync(old);
  mkdirSync(old);
  writeFileSync(join(old, 'busy'), 'x');
  await run(undefined);
  const open = openEntries(ctx.store);
  assert.equal(open.length, 1, 'post-commit work that failed is left to recovery');
  assert.deepEqual(open[0]!.steps.map((s) => s.name), ['check'], 'no empty step carries the post-commit work');
  assert.deepEqual(open[0]!.finalize, [{ kind: 'file-obsolete', path: old }]);
  rmSync(old, { recursive: true });
  writeFileSync(old, 'merged');
  const { recover } = await import('../../src/txn/recovery.js');
  const reports = await recover(ctx);
  assert.deepEqual(reports.map((r) => r.action), ['finalize']);
  assert.equal(existsSync(old), false, 'recovery finished the post-commit work');
  assert.equal(openEntries(ctx.store).length, 0);
  ctx.store.close();
});

test('error failpoints before the commit leave the state wholly before', async () => {
  const points = ['journal.after', 'prepare.step.before', 'prepare.step.after', 'commit.before'];
  for (const p of points) {
    for (const nth of p.includes('step') ? [1, 2, 3] : [1]) {
      const dir = freshState();
      const ctx = toyContext(dir);
      process.env['SNAPVIRT_FAILPOINTS'] = `create.${p}=error@${nth}`;
      try {
        await assert.rejects(runToyCreate(ctx), new RegExp(`failpoint create\\.${p.replace(/\./g, '\\.')}`));
      } finally {
        delete process.env['SNAPVIRT_FAILPOINTS'];
      }
      ctx.store.close();
      assert.deepEqual(readToyState(dir), TOY_BEFORE, `create.${p}@${nth}`);
    }
  }
});

test('a step failing with nothingCreated() is not undone: a file it did not make survives', async () => {
  const dir = freshState();
  const ctx = toyContext(dir);
  const mine = join(filesDir(dir), 'mine');
  const theirs = join(filesDir(dir), 'theirs');
  writeFileSync(theirs, 'someone else\'s data');
  await assert.rejects(lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
    kind: 'create', domain: TOY_DOMAIN,
    steps: [
      { name: 'a', resources: [{ kind: 'file-created', path: mine }], do: async () => writeFileSync(mine, 'a', { flag: 'wx' }) },
      {
        name: 'b', resources: [{ kind: 'file-created', path: theirs }],
        do: async () => {
          try {
            writeFileSync(theirs, 'b', { flag: 'wx' });
          } catch (err) {
            throw nothingCreated(err as Error);
          }
        },
      },
    ],
    commit: () => {},
  })), /EEXIST/);
  assert.equal(existsSync(mine), false, 'the step that did create its file was undone');
  assert.equal(readFileSync(theirs, 'utf8'), 'someone else\'s data');
  const last = ctx.store.journal.listRecent(1)[0]!;
  assert.equal(last.outcome, 'rolled-back');
  assert.deepEqual(JSON.parse(last.progress), ['undone', 'pending']);
  ctx.store.close();
});

test('switch happened, then the commit failed: undoSwitch reverses it and the steps are undone', async () => {
  const dir = freshState();
  const ctx = toyContext(dir);
  const log: string[] = [];
  await assert.rejects(lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
    kind: LIVE_KIND, domain: TOY_DOMAIN, steps: loggingSteps(dir, 2, log, undefined),
    switch: async () => { log.push('switch'); },
    undoSwitch: async () => { log.push('unswitch'); },
    commit: () => { throw new Error('commit failed after switch'); },
  })), /commit failed after switch/);
  assert.deepEqual(log, ['do 0', 'do 1', 'switch', 'unswitch', 'undo 1', 'undo 0']);
  assert.equal(openEntries(ctx.store).length, 0);
  ctx.store.close();
  assert.deepEqual(readToyState(dir), TOY_BEFORE);
});

test('switch happened, commit failed, no undoSwitch: left open, then rolled forward by the next lock', async () => {
  const dir = freshState();
  const ctx = toyContext(dir);
  let failCommit = true;
  const xml = '<domainsnapshot><name>s1</name></domainsnapshot>';
  await assert.rejects(lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
    kind: LIVE_KIND, domain: TOY_DOMAIN, intent: { xml }, steps: toySteps(dir),
    switch: async () => writeFileSync(join(dir, 'switched'), 'yes'),
    commit: () => { if (failCommit) throw new Error('disk full'); },
  })), /disk full/);
  failCommit = false;
  const open = openEntries(ctx.store);
  assert.equal(open.length, 1);
  assert.equal(open[0]!.phase, 'switched');
  assert.equal(open[0]!.error, 'disk full');
  await lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-list', async () => {});
  ctx.store.close();
  assert.deepEqual(readToyState(dir), TOY_AFTER);
});
