/**
 * How many fsynced commits an operation costs, and what each one records: one per
 * durable state (the intent with the first step's start; each step's end with the next
 * one's start; the last end with 'prepared', or 'switching' when nothing is left to
 * persist; 'switched'; the commit), and no persisting of what a step made durable itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../../src/store/store.js';
import { loadEntry, openEntries } from '../../src/txn/journal.js';
import { lockDomain, runOperation, type Step } from '../../src/txn/operation.js';
import type { TxnContext } from '../../src/txn/context.js';
import { tempDir } from './child-process.js';
import { filesDir, LIVE_KIND, setupToyState, toyContext, TOY_DOMAIN } from './toy-op.js';

/** The journal entry as each top-level store transaction left it: phase and step progress. */
function recordCommits(ctx: TxnContext): string[] {
  const store: Store = ctx.store;
  const seen: string[] = [];
  const original = store.transaction.bind(store);
  let depth = 0;
  store.transaction = <T>(fn: () => T): T => {
    depth++;
    try {
      return original(fn);
    } finally {
      depth--;
      if (depth === 0) {
        const rec = store.journal.listRecent(1)[0];
        if (rec) {
          const e = loadEntry(store, rec.id);
          seen.push(`${e.outcome ?? e.phase} ${e.progress.join(',')}`);
        }
      }
    }
  };
  return seen;
}

/** File steps; each writes its file, fsyncing nothing. */
function fileSteps(dir: string, n: number, extra: Partial<Step> = {}): Step[] {
  return Array.from({ length: n }, (_, i): Step => {
    const path = join(filesDir(dir), `f${i}`);
    return { name: `s${i}`, resources: [{ kind: 'counted-file', path }], async do() { writeFileSync(path, 'x'); }, ...extra };
  });
}

/** A context whose 'counted-file' resources log each persist. */
function context(persisted: string[]): TxnContext {
  const dir = join(tempDir(), 'state');
  setupToyState(dir);
  const ctx = toyContext(dir);
  ctx.registry.registerResource('counted-file', {
    async undo() {},
    async persist(r) { persisted.push(String(r.path)); },
  });
  return ctx;
}

test('three steps, no switch: five commits, each a state a crash may find', async () => {
  const persisted: string[] = [];
  const ctx = context(persisted);
  const commits = recordCommits(ctx);
  await lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
    kind: 'create', domain: TOY_DOMAIN, steps: fileSteps(ctx.store.stateDir, 3), commit: () => undefined,
  }));
  assert.deepEqual(commits, [
    'preparing started,pending,pending',
    'preparing done,started,pending',
    'preparing done,done,started',
    'prepared done,done,done',
    'committed done,done,done',
  ]);
  assert.equal(persisted.length, 3, 'every resource persisted before the commit');
  assert.equal(openEntries(ctx.store).length, 0);
  ctx.store.close();
});

test('a switch with nothing to persist: the last step ends in the commit that starts the switch', async () => {
  const persisted: string[] = [];
  const ctx = context(persisted);
  const commits = recordCommits(ctx);
  let phaseAtSwitch = '';
  await lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
    kind: LIVE_KIND, domain: TOY_DOMAIN, steps: fileSteps(ctx.store.stateDir, 2, { durableWhenDone: true }),
    switch: async () => { phaseAtSwitch = ctx.store.journal.listRecent(1)[0]!.phase; },
    commit: () => undefined,
  }));
  assert.deepEqual(commits, [
    'preparing started,pending',
    'preparing done,started',
    'switching done,done',
    'switched done,done',
    'committed done,done',
  ]);
  assert.equal(phaseAtSwitch, 'switching');
  assert.deepEqual(persisted, [], 'a durableWhenDone step is not persisted again');
  ctx.store.close();
});

test('a switch after steps that need persisting: prepared, persisted, then switching', async () => {
  const persisted: string[] = [];
  const ctx = context(persisted);
  const commits = recordCommits(ctx);
  const [durable, plain] = [fileSteps(ctx.store.stateDir, 1, { durableWhenDone: true })[0]!, fileSteps(ctx.store.stateDir, 2)[1]!];
  await lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
    kind: LIVE_KIND, domain: TOY_DOMAIN, steps: [durable, plain],
    switch: async () => { assert.deepEqual(persisted, [join(filesDir(ctx.store.stateDir), 'f1')]); },
    commit: () => undefined,
  }));
  assert.deepEqual(commits, [
    'preparing started,pending',
    'preparing done,started',
    'prepared done,done',
    'switching done,done',
    'switched done,done',
    'committed done,done',
  ]);
  ctx.store.close();
});
