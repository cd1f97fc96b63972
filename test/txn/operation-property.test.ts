/**
 * Property test (fast-check, fixed seed): for any number of steps, any step or the commit
 * failing, and any set of undo failures, the runner undoes exactly the started steps in
 * reverse, reports the first error, and the store is unchanged; with no failure it commits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lockDomain, runOperation, undoErrorsOf, type Step } from '../../src/txn/operation.js';
import { openEntries } from '../../src/txn/journal.js';
import { tempDir } from './child-process.js';
import { filesDir, setupToyState, toyContext, TOY_DOMAIN } from './toy-op.js';

test('runner: reverse undo of started steps, first error wins, store unchanged on failure', async () => {
  const dir = join(tempDir(), 'state');
  setupToyState(dir);
  const ctx = toyContext(dir);
  let run = 0;
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 0, max: 6 }),
    fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
    fc.boolean(),
    fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 3 }),
    fc.boolean(),
    async (n, failAtRaw, commitFails, undoFails, useClosures) => {
      run++;
      const failAt = failAtRaw !== undefined && failAtRaw < n ? failAtRaw : undefined;
      const log: string[] = [];
      const paths = Array.from({ length: n }, (_, i) => join(filesDir(dir), `p${run}-${i}`));
      const steps = paths.map((path, i): Step => ({
        name: `s${i}`,
        resources: [{ kind: 'file-created', path }],
        async do() {
          log.push(`do ${i}`);
          writeFileSync(path, 'x', { flag: 'wx' });
          if (i === failAt) throw new Error(`fail ${i}`);
        },
        ...(useClosures ? {
          async undo() {
            log.push(`undo ${i}`);
            if (undoFails.includes(i)) throw new Error(`undo fail ${i}`);
            unlinkSync(path);
          },
        } : {}),
      }));
      const before = ctx.store.domains.get(TOY_DOMAIN.uuid);
      let error: unknown;
      try {
        await lockDomain(ctx, TOY_DOMAIN.uuid, 'prop', (lock) => runOperation(ctx, lock, {
          kind: 'create', domain: TOY_DOMAIN, steps,
          commit: (store) => {
            store.domains.update(TOY_DOMAIN.uuid, { autostart: !before!.autostart });
            if (commitFails) throw new Error('commit fail');
          },
        }));
      } catch (err) {
        error = err;
      }
      const failed = failAt !== undefined || commitFails;
      if (!failed) {
        assert.equal(error, undefined);
        assert.equal(ctx.store.domains.get(TOY_DOMAIN.uuid)!.autostart, !before!.autostart);
        for (const p of paths) assert.ok(existsSync(p));
        for (const p of paths) unlinkSync(p);
        return;
      }
      assert.ok(error instanceof Error);
      assert.equal(error.message, failAt !== undefined ? `fail ${failAt}` : 'commit fail');
      assert.deepEqual(ctx.store.domains.get(TOY_DOMAIN.uuid), before);
      const started = failAt !== undefined ? failAt + 1 : n;
      if (useClosures) {
        const undos = log.filter((l) => l.startsWith('undo'));
        assert.deepEqual(undos, Array.from({ length: started }, (_, k) => `undo ${started - 1 - k}`));
        const expectFailedUndos = undoFails.filter((i, k, a) => i < started && a.indexOf(i) === k).length;
        assert.equal(undoErrorsOf(error).length, expectFailedUndos);
      }
      // Recovery (run by the next lock) finishes what an undo closure left behind.
      await lockDomain(ctx, TOY_DOMAIN.uuid, 'prop', async () => {});
      assert.equal(openEntries(ctx.store).length, 0);
      for (const p of paths) assert.equal(existsSync(p), false, p);
    },
  ), { seed: 20261125, numRuns: 150 });
  ctx.store.close();
});
