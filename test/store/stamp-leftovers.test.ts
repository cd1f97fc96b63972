/**
 * A process killed while recording a clean close (between writing the stamp's temporary
 * file and renaming it) leaves `snapvirt.db.checked.<pid>.tmp` behind. The crash suites
 * found one in a state directory after a random kill; the next open must clear it, or the
 * directory gathers one per crash. A temporary file of a process still alive is its own
 * business and stays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open-store.js';

test('opening the store removes a stamp temporary file left by a killed process, and keeps a live one\'s', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'snapvirt-stamp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  openStore(dir).close();

  // A pid that has certainly exited: a child that already ended.
  const dead = spawn('true');
  await new Promise((resolve) => dead.on('exit', resolve));
  const alive = spawn('sleep', ['30']);
  t.after(() => alive.kill('SIGKILL'));
  const leftover = join(dir, `snapvirt.db.checked.${dead.pid}.tmp`);
  const inProgress = join(dir, `snapvirt.db.checked.${alive.pid}.tmp`);
  writeFileSync(leftover, 'partial');
  writeFileSync(inProgress, 'partial');

  openStore(dir).close();
  assert.equal(existsSync(leftover), false, 'the killed writer\'s temporary file is gone');
  assert.equal(existsSync(inProgress), true, 'a live writer\'s temporary file is left to it');
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [`snapvirt.db.checked.${alive.pid}.tmp`]);
});
