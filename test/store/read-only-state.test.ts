/**
 * A state directory that cannot be written (a read-only mount) still answers the commands
 * that only read: the store is opened read-only, without recovery's writes. Every
 * mutating command fails with the clear "not writable" error and changes nothing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';
import { mountReadOnlyBind, unmount } from '../helpers/mounts.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const BIN = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));

function snapvirt(stateDir: string, command: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, '-c', 'qemu:///session', command], {
      env: { ...process.env, SNAPVIRT_STATE_DIR: stateDir },
    }, (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout: String(stdout), stderr: String(stderr) }));
  });
}

test('read-only commands work on a read-only state directory; mutating ones fail clearly and change nothing', async (t) => {
  const tmp = await makeTempDir();
  t.after(() => tmp.cleanup());
  const state = join(tmp.path, 'state');
  const disks = await makeImages(tmp.path, 'vm', ['qcow2']);
  const file = join(tmp.path, 'vm.xml');
  await writeFile(file, domainXml('vm', disks));
  const setup = await snapvirt(state, `define ${file}; snapshot-create-as vm s1 first`);
  assert.equal(setup.code, 0, setup.stderr);

  const reads = ['list --all', 'dumpxml vm', 'dominfo vm', 'domstate vm', 'snapshot-list vm', 'snapshot-dumpxml vm s1',
    'snapshot-info vm s1', 'snapshot-current vm --name', 'snapshot-list vm --tree', 'domblklist vm'];
  const expected = new Map<string, { code: number | null; stdout: string; stderr: string }>();
  for (const cmd of reads) expected.set(cmd, await snapvirt(state, cmd));
  const filesBefore = (await readdir(state)).sort();

  await mountReadOnlyBind(state, state);
  try {
    for (const cmd of reads) {
      const r = await snapvirt(state, cmd);
      assert.deepEqual(r, expected.get(cmd), cmd);
    }
    for (const cmd of ['snapshot-create-as vm s2', 'snapshot-delete vm s1', 'snapshot-revert vm s1', `define ${file}`, 'undefine vm']) {
      const r = await snapvirt(state, cmd);
      assert.equal(r.code, 1, cmd);
      assert.match(r.stderr, new RegExp(`^(error: .*\\n)?error: operation failed: state directory '${state}' is not writable: Read-only file system\\n$`), cmd);
    }
  } finally {
    await unmount(state);
  }
  assert.deepEqual((await readdir(state)).sort(), filesBefore);
  const after = await snapvirt(state, 'snapshot-list vm --name');
  assert.equal(after.stdout, 's1\n\n');
});
