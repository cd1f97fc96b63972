/**
 * recover() keeps the newest closed journal entries for diagnosis and prunes the rest in
 * batches: pruning one entry at every open cost every mutating command one more fsynced
 * commit once the journal was full.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Store } from '../../src/store/store.js';
import { JOURNAL_KEEP, JOURNAL_PRUNE_BATCH, recover } from '../../src/txn/recovery.js';
import { tempDir } from './child-process.js';
import { setupToyState, toyContext, TOY_DOMAIN } from './toy-op.js';

/** Adds closed entries until the newest has id `lastId`. */
function addClosedEntriesUpTo(store: Store, lastId: number): void {
  store.transaction(() => {
    for (;;) {
      const id = store.journal.insert({
        kind: 'create', domainUuid: TOY_DOMAIN.uuid, domainName: TOY_DOMAIN.name, intent: '{}', progress: '[]', phase: 'committed',
      });
      store.journal.setOutcome(id, 'committed', true);
      if (id >= lastId) return;
    }
  });
}

const count = (store: Store): number => store.journal.listRecent(10 * JOURNAL_KEEP).length;

test('closed journal entries are pruned down to JOURNAL_KEEP once per JOURNAL_PRUNE_BATCH new entries, not at every open', async () => {
  const dir = join(tempDir(), 'state');
  setupToyState(dir);
  const ctx = toyContext(dir);
  try {
    const notYet = JOURNAL_KEEP + JOURNAL_PRUNE_BATCH;
    addClosedEntriesUpTo(ctx.store, notYet);
    await recover(ctx);
    assert.equal(count(ctx.store), notYet, 'no prune between batches: no write, no commit');
    addClosedEntriesUpTo(ctx.store, notYet + 1);
    await recover(ctx);
    assert.equal(count(ctx.store), JOURNAL_KEEP);
    await recover(ctx);
    assert.equal(count(ctx.store), JOURNAL_KEEP, 'a second open finds nothing more to prune');
  } finally {
    ctx.store.close();
  }
});
