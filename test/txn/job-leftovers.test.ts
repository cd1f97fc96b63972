/**
 * A process killed while rewriting its job record (between writing `<uuid>.job.<pid>.tmp`
 * and renaming it over `<uuid>.job`) leaves the temporary file in the lock directory. The
 * full crash run's pictures would count it as litter; recovery, which every open runs,
 * clears it. A live writer's file is its own and stays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open-store.js';
import { createTxnContext, recover } from '../../src/txn/index.js';

test('recovery removes a job record\'s temporary file left by a killed writer, and keeps a live one\'s', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'snapvirt-job-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = openStore(dir);
  t.after(() => store.close());
  const ctx = createTxnContext(store);
  mkdirSync(ctx.lockDir, { recursive: true });

  const dead = spawn('true');
  await new Promise((resolve) => dead.on('exit', resolve));
  const alive = spawn('sleep', ['30']);
  t.after(() => alive.kill('SIGKILL'));
  const uuid = '11111111-2222-3333-4444-555555555555';
  const leftover = join(ctx.lockDir, `${uuid}.job.${dead.pid}.tmp`);
  const inProgress = join(ctx.lockDir, `${uuid}.job.${alive.pid}.tmp`);
  const unrelated = join(ctx.lockDir, `notes.${dead.pid}.tmp`);
  for (const f of [leftover, inProgress, unrelated]) writeFileSync(f, '{"id":');

  await recover(ctx);
  assert.equal(existsSync(leftover), false, 'the killed writer\'s temporary file is gone');
  assert.equal(existsSync(inProgress), true, 'a live writer\'s temporary file is left to it');
  assert.deepEqual(readdirSync(ctx.lockDir).sort(), [`${uuid}.job.${alive.pid}.tmp`, `notes.${dead.pid}.tmp`].sort(),
    'only job records\' temporary files are touched');
});
