/**
 * Block-job events through snapvirtd, seen by real virsh: `virsh event --all --loop` on the
 * daemon prints libvirt's block-job and block-job-2 lines for the block-commit a live
 * delete (made through the daemon) runs, once each (the daemon's domain watch hears it on
 * events.sock and the daemon's own merge reports it: one is sent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SnapshotCreateFlags as C } from '../../src/api/flags.js';
import { makeRunningEnv, guestWriteVia } from '../drivers/qemu/support/active-env.js';
import { runCommand } from '../helpers/run-command.js';
import { startSnapvirtd } from '../helpers/snapvirtd.js';

test('virsh event --all --loop through snapvirtd shows the block-commit of a live delete', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, env } = r;
  await dom.create();
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>', C.DISK_ONLY);
  await guestWriteVia(dom, 'vda', 0x5a, 0, '1M');
  const daemon = await startSnapvirtd(join(env.imageDir, '..'), { SNAPVIRT_STATE_DIR: env.stateDir });
  t.after(() => daemon.stop());
  const uri = `qemu+unix:///session?socket=${daemon.socket}`;
  const listener = spawn('virsh', ['-c', uri, 'event', '--all', '--loop'], { env: { PATH: process.env.PATH, LANG: 'C' } });
  t.after(() => listener.kill());
  let out = '';
  listener.stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  const waitFor = async (re: RegExp): Promise<void> => {
    for (let i = 0; i < 12000 && !re.test(out); i++) await sleep(10);
    assert.match(out, re);
  };
  // A lifecycle event through the daemon shows the listener is registered.
  for (let i = 0; i < 600 && !/lifecycle/.test(out); i++) {
    assert.equal((await runCommand('virsh', ['-c', uri, 'suspend vm; resume vm'])).code, 0);
    await sleep(100);
  }
  const overlay = r.disks[0]!.path.replace(/\.qcow2$/, '.s1');
  const deleted = await runCommand('virsh', ['-c', uri, 'snapshot-delete vm s1']);
  assert.equal(deleted.code, 0, deleted.stderr);
  await waitFor(/event 'block-job-2'/);
  await waitFor(/event 'block-job' /);
  assert.ok(out.includes(`event 'block-job' for domain 'vm': Active Block Commit for ${overlay} completed\n`), out);
  assert.ok(out.includes("event 'block-job-2' for domain 'vm': Active Block Commit for vda completed\n"), out);
  // Heard on events.sock and reported by the daemon's own merge: sent once.
  await sleep(2000);
  assert.equal(out.split(`event 'block-job' for domain 'vm': Active Block Commit for ${overlay} completed\n`).length, 2, out);
  assert.equal(out.split("event 'block-job-2' for domain 'vm': Active Block Commit for vda completed\n").length, 2, out);
});
