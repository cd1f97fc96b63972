/**
 * Random kill -9 on top of the failpoint matrix: the parent
 * SIGKILLs the child at a pseudo-random moment (fixed seed, printed on failure), which
 * also lands inside SQLite commits and between failpoints. Whatever the moment, after
 * recovery the state is wholly before or wholly after. Nothing here asserts on time:
 * the delay only spreads the kills; the check is the same for every outcome.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { recover } from '../../src/txn/recovery.js';
import { startChildUntil, tempDir } from './child-process.js';
import { readToyState, setupToyState, toyContext, TOY_AFTER, TOY_BEFORE } from './toy-op.js';
import { prng } from '../helpers/seeded-random.js';

const SEED = 0x5eed2026;


test(`random SIGKILL during create, then recovery: wholly before or after (seed ${SEED})`, async () => {
  const rand = prng(SEED);
  const outcomes = { before: 0, after: 0 };
  for (let i = 0; i < 16; i++) {
    const delayMs = Math.floor(rand() * 140);
    const dir = join(tempDir(), 'state');
    setupToyState(dir);
    const { child, exited } = await startChildUntil('toy-child', ['create', dir], 'ready');
    await sleep(delayMs);
    child.kill('SIGKILL');
    const res = await exited;
    const ctx = toyContext(dir);
    try {
      const reports = await recover(ctx);
      for (const r of reports) assert.equal(r.error, undefined, `seed ${SEED} run ${i}: ${r.error?.message}`);
    } finally {
      ctx.store.close();
    }
    const state = readToyState(dir);
    const finished = res.stdout.includes('done');
    if (finished) assert.deepEqual(state, TOY_AFTER, `seed ${SEED} run ${i} (${delayMs} ms): finished, so after`);
    else {
      assert.ok(
        JSON.stringify(state) === JSON.stringify(TOY_BEFORE) || JSON.stringify(state) === JSON.stringify(TOY_AFTER),
        `seed ${SEED} run ${i} (${delayMs} ms): neither before nor after: ${JSON.stringify(state)}`,
      );
    }
    outcomes[JSON.stringify(state) === JSON.stringify(TOY_AFTER) ? 'after' : 'before']++;
  }
  assert.equal(outcomes.before + outcomes.after, 16);
});
