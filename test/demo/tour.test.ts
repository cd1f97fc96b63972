/**
 * `npm start` is the README's front door: run the whole tour and check that every claim it
 * prints about the data and the files is true.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const TOUR = fileURLToPath(new URL('../../demo/main.js', import.meta.url));

test('the npm start tour runs to the end and every data check it prints holds', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [TOUR], {
    env: { ...process.env, SNAPVIRT_QEMU_ACCEL: 'tcg' },
    timeout: 120_000,
  });
  assert.match(stdout, /Domain snapshot experiment created/);
  assert.match(stdout, /\$ snapvirt snapshot-current test --name\nbase\n/);
  assert.match(stdout, /unchanged: true/);
  assert.match(stdout, /reads 0xAA: true; the abandoned overlay still holds 0xBB: true/);
  assert.match(stdout, /still reads 0xAA: true/);
  assert.match(stdout, /Group snapshot release created/);
  assert.match(stdout, /db and web both read 0xAA again: true/);
  assert.match(stdout, /holds the running write 0xCC: true/);
  assert.doesNotMatch(stdout, /: false/);
});
