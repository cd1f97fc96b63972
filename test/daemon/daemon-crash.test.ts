/**
 * A daemon killed -9 in the middle of an 8-disk atomic create (the engine's `crash`
 * failpoint SIGKILLs the snapvirtd process itself, SNAPVIRT_TESTING=1): before the commit
 * point the world is wholly as before once snapvirt's CLI opens the state directory; after
 * it, a new daemon (taking over the dead one's socket) finishes the snapshot, all 8 disks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { startSnapvirtd } from '../helpers/snapvirtd.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));

function outcome(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { PATH: process.env.PATH, LANG: 'C', TZ: 'UTC', ...env } }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 }));
  });
}

async function backingOf(path: string): Promise<string | undefined> {
  const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', path]);
  return (JSON.parse(stdout) as { 'backing-filename'?: string })['backing-filename'];
}

for (const [point, after] of [['create.commit.before', false], ['create.commit.after', true]] as const) {
  test(`snapvirtd killed at ${point} during an 8-disk atomic create: the world is wholly ${after ? 'after' : 'before'} it`, async () => {
    const tmp = await makeTempDir('snapvirtd-crash-');
    const stateDir = join(tmp.path, 'state');
    const imageDir = join(tmp.path, 'images');
    await mkdir(imageDir);
    try {
      const disks = await makeImages(imageDir, 'vm', Array.from({ length: 8 }, () => 'qcow2' as const));
      await writeFile(join(tmp.path, 'vm.xml'), domainXml('vm', disks));
      const doomed = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: stateDir, SNAPVIRT_TESTING: '1', SNAPVIRT_FAILPOINTS: `${point}=crash` });
      const uri = `qemu+unix:///session?socket=${doomed.socket}`;
      assert.equal((await outcome('virsh', ['-c', uri, `define ${join(tmp.path, 'vm.xml')}`])).code, 0);
      const create = await outcome('virsh', ['-c', uri, 'snapshot-create-as vm s1 --disk-only --atomic']);
      assert.equal(create.code, 1);
      assert.match(create.stderr, /error: (End of file while reading data|Cannot recv data)/);
      assert.equal(doomed.child.signalCode ?? (await doomed.exited, doomed.child.signalCode), 'SIGKILL');
      const overlays = disks.map((d) => d.path.replace(/\.qcow2$/, '.s1'));
      if (!after) {
        // snapvirt's CLI, the next to open the state, rolls the create back.
        const seen = await outcome(process.execPath, [BIN, '-c', 'qemu:///session', 'snapshot-list vm --name; domblklist vm'], { SNAPVIRT_STATE_DIR: stateDir });
        assert.equal(seen.code, 0, seen.stderr);
        assert.match(seen.stdout, /^\n Target +Source\n-+\n/);
        for (const d of disks) assert.match(seen.stdout, new RegExp(` ${d.target} +${d.path}\\n`));
        for (const o of overlays) assert.ok(!existsSync(o), `${o} removed`);
      } else {
        // A new daemon takes over the dead one's socket and finishes the create.
        const next = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: stateDir });
        try {
          const seen = await outcome('virsh', ['-c', `qemu+unix:///session?socket=${next.socket}`, 'snapshot-list vm --name; domblklist vm']);
          assert.equal(seen.code, 0, seen.stderr);
          assert.match(seen.stdout, /^s1\n\n Target +Source\n-+\n/);
          for (const [i, o] of overlays.entries()) {
            assert.match(seen.stdout, new RegExp(` ${disks[i]!.target} +${o}\\n`));
            assert.equal(await backingOf(o), disks[i]!.path);
          }
        } finally {
          await next.stop();
        }
      }
    } finally {
      await tmp.cleanup();
    }
  });
}

test('without SNAPVIRT_TESTING=1 the daemon ignores SNAPVIRT_FAILPOINTS, says so, and the create completes', async () => {
  const tmp = await makeTempDir('snapvirtd-nofp-');
  const stateDir = join(tmp.path, 'state');
  const imageDir = join(tmp.path, 'images');
  await mkdir(imageDir);
  const d = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: stateDir, SNAPVIRT_FAILPOINTS: 'create.commit.before=crash' });
  try {
    assert.match(d.log(), /ignoring SNAPVIRT_FAILPOINTS: failpoints are honoured only when SNAPVIRT_TESTING=1 is also set/);
    const disks = await makeImages(imageDir, 'vm', ['qcow2', 'qcow2']);
    await writeFile(join(tmp.path, 'vm.xml'), domainXml('vm', disks));
    const r = await outcome('virsh', ['-c', `qemu+unix:///session?socket=${d.socket}`, `define ${join(tmp.path, 'vm.xml')}; snapshot-create-as vm s1 --disk-only --atomic`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Domain snapshot s1 created/);
  } finally {
    assert.equal(await d.stop(), 0);
    await tmp.cleanup();
  }
});
