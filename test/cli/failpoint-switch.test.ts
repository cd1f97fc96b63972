/**
 * The shipped command line honours SNAPVIRT_FAILPOINTS only beside the testing switch
 * SNAPVIRT_TESTING=1, and says so either way: a stray variable in a user's environment
 * must never make a real define fail (or a process kill itself) on purpose.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { domainXml } from '../helpers/domain-fixture.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const BIN = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));

function snapvirt(stateDir: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const base = { ...process.env };
    delete base.SNAPVIRT_FAILPOINTS;
    delete base.SNAPVIRT_TESTING;
    const child = execFile(process.execPath, [BIN, '-c', 'qemu:///session', ...args], {
      env: { ...base, SNAPVIRT_STATE_DIR: stateDir, ...env },
    }, (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout: String(stdout), stderr: String(stderr) }));
  });
}

test('SNAPVIRT_FAILPOINTS without SNAPVIRT_TESTING=1 is ignored, with a warning', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const file = join(tmp.path, 'fp.xml');
  await writeFile(file, domainXml('fp', []));
  const r = await snapvirt(join(tmp.path, 'state'), ['define', file], { SNAPVIRT_FAILPOINTS: 'lock.acquire.after=error' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `Domain 'fp' defined from ${file}\n\n`);
  assert.equal(r.stderr, 'warning: ignoring SNAPVIRT_FAILPOINTS: failpoints are honoured only when SNAPVIRT_TESTING=1 is also set\n');
});

test('with SNAPVIRT_TESTING=1 the failpoints fire, and a warning names them', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const file = join(tmp.path, 'fp.xml');
  await writeFile(file, domainXml('fp', []));
  const state = join(tmp.path, 'state');
  const r = await snapvirt(state, ['define', file], { SNAPVIRT_FAILPOINTS: 'lock.acquire.after=error', SNAPVIRT_TESTING: '1' });
  assert.equal(r.code, 1);
  assert.equal(r.stderr,
    'warning: failpoints are active (SNAPVIRT_TESTING=1): lock.acquire.after=error\n' +
    `error: Failed to define domain from ${file}\nerror: internal error: failpoint lock.acquire.after\n`);
  const list = await snapvirt(state, ['list', '--all', '--name'], { SNAPVIRT_TESTING: '1' });
  assert.deepEqual(list, { code: 0, stdout: '\n', stderr: '' });
});
