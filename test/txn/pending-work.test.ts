/**
 * Post-commit work that fails (G6, G17): the operation is done and its entry stays open as
 * committed; it does not block the domain, only operations on its files are refused
 * (naming it); recovery retries it at every lock without throwing, and finishes it once
 * the fault is gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isVirError, VirErrorCode } from '../../src/api/errors.js';
import { openEntries } from '../../src/txn/journal.js';
import { lockDomain, runOperation } from '../../src/txn/operation.js';
import { recoverDomain } from '../../src/txn/recovery.js';
import { resourceString } from '../../src/txn/resources.js';
import { tempDir } from './child-process.js';
import { filesDir, setupToyState, toyContext, TOY_DOMAIN } from './toy-op.js';

test('failing post-commit work blocks only operations on its files, and is retried until it finishes', async () => {
  const dir = join(tempDir(), 'state');
  setupToyState(dir);
  const warnings: string[] = [];
  const base = toyContext(dir);
  const ctx = { ...base, warn: (m: string) => warnings.push(m) };
  const fault = join(filesDir(dir), 'fault');
  const merged = join(filesDir(dir), 'overlay');
  writeFileSync(fault, '');
  writeFileSync(merged, 'data');
  // A merge that fails while the fault file exists, then removes the overlay.
  ctx.registry.registerResource('toy-merge', {
    async undo() {},
    async finalize(r) {
      if (existsSync(fault)) throw new Error('No space left on device');
      rmSync(resourceString(r, 'path'), { force: true });
    },
    files: (r) => [resourceString(r, 'path')],
  });

  let committed = 0;
  await lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-delete', (lock) => runOperation(ctx, lock, {
    kind: 'delete', domain: TOY_DOMAIN, intent: { snapshot: 'e0' },
    steps: [{ name: 'post-commit', resources: [{ kind: 'toy-merge', path: merged }], async do() {} }],
    commit: () => { committed++; },
  }));
  assert.equal(committed, 1, 'the delete is done');
  const [pending] = openEntries(ctx.store);
  assert.equal(pending?.outcome, 'committed');
  assert.equal(pending?.error, 'No space left on device');
  assert.match(warnings.join('\n'), /delete on domain '.*' is done, but its post-commit work did not finish: No space left on device/);

  // Another operation on other files goes on (its lock retries the merge first, which fails again).
  const other = join(filesDir(dir), 'other');
  await lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
    kind: 'create', domain: TOY_DOMAIN,
    steps: [{ name: 'new', resources: [{ kind: 'file-created', path: other }], async do() { writeFileSync(other, 'x'); } }],
    commit: () => { committed++; },
  }));
  assert.equal(committed, 2);
  assert.match(warnings.join('\n'), /the post-commit work of the delete of snapshot 'e0' .* is still not finished: No space left on device/);

  // One that builds on the merge's file is refused, naming the pending work; it changes nothing.
  await assert.rejects(
    lockDomain(ctx, TOY_DOMAIN.uuid, 'snapshot-create', (lock) => runOperation(ctx, lock, {
      kind: 'create', domain: TOY_DOMAIN, touches: [merged], steps: [], commit: () => { committed++; },
    })),
    (err: unknown) => isVirError(err) && err.code === VirErrorCode.OPERATION_INVALID &&
      err.message.includes(`image '${merged}' is part of the post-commit work of the delete of snapshot 'e0'`) &&
      err.message.includes('which has not finished (No space left on device)'),
  );
  assert.equal(committed, 2);
  assert.equal(openEntries(ctx.store).length, 1);

  // recoverDomain reports it failed, without throwing; once the fault is gone it finishes.
  await lockDomain(ctx, TOY_DOMAIN.uuid, 'recovery', async (lock) => {
    const reports = await recoverDomain(ctx, lock);
    assert.deepEqual(reports.map((r) => r.action), ['failed']);
  });
  rmSync(fault);
  await lockDomain(ctx, TOY_DOMAIN.uuid, 'recovery', async () => {});
  assert.equal(openEntries(ctx.store).length, 0);
  assert.equal(existsSync(merged), false);
  ctx.store.close();
});
