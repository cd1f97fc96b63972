/**
 * The state directory decides which files snapvirt later deletes as its own, so it must be
 * trusted: owned by the user running snapvirt and writable by no one else, symlinks
 * resolved and the target checked the same way (a new one is created 0700: store-files.test.ts).
 * Tests run as root and hand directories to uid 65534 with chown.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isVirError, VirErrorCode } from '../../src/api/errors.js';
import { openStore } from '../../src/store/open-store.js';

function base(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'snapvirt-trust-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function refused(dir: string, message: string): void {
  assert.throws(() => openStore(dir), (e: unknown) => {
    assert.ok(isVirError(e, VirErrorCode.OPERATION_FAILED), String(e));
    assert.equal(e.message, `operation failed: ${message}`);
    return true;
  });
}

for (const mode of [0o777, 0o770, 0o757, 0o1777]) {
  test(`an existing state directory with mode ${mode.toString(8)} is refused, and nothing is written in it`, (t) => {
    const dir = join(base(t), 'state');
    mkdirSync(dir);
    chmodSync(dir, mode);
    refused(dir, `state directory '${dir}' is writable by group or others (mode ${(mode & 0o7777).toString(8).padStart(4, '0')}): ` +
      `anyone who can write there can plant records that decide which files snapvirt deletes; run 'chmod go-w ${dir}' (snapvirt creates it 0700)`);
    assert.deepEqual(readdirSync(dir), []);
  });
}

test('a state directory owned by another user is refused, and nothing is written in it', (t) => {
  const dir = join(base(t), 'state');
  mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, 65534, 65534);
  refused(dir, `state directory '${dir}' is owned by uid 65534, not by uid ${process.geteuid!()} running snapvirt: ` +
    `anyone who can write there can plant records that decide which files snapvirt deletes; run 'chown ${process.geteuid!()} ${dir}' or use another state directory`);
  assert.deepEqual(readdirSync(dir), []);
});

test('a symlinked state directory is resolved and its target checked the same way', (t) => {
  const root = realpathSync(base(t));
  const target = join(root, 'shared');
  mkdirSync(target);
  chmodSync(target, 0o777);
  const link = join(root, 'state');
  symlinkSync(target, link);
  refused(link, `state directory '${link}' (resolved to '${target}') is writable by group or others (mode 0777): ` +
    `anyone who can write there can plant records that decide which files snapvirt deletes; run 'chmod go-w ${target}' (snapvirt creates it 0700)`);
  assert.deepEqual(readdirSync(target), []);
  // A link to a directory that passes is used, by its resolved path.
  chmodSync(target, 0o700);
  const store = openStore(link);
  try {
    assert.equal(store.stateDir, target);
  } finally {
    store.close();
  }
});

test('a mode-0755 directory of the running user is used (readable by others is not a risk)', (t) => {
  const dir = join(base(t), 'state');
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  openStore(dir).close();
  assert.equal(statSync(dir).mode & 0o777, 0o755, 'an existing directory keeps its mode');
});
