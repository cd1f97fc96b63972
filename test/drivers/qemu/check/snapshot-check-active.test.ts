/**
 * snapshot-check on a running domain (real qemu-system-x86_64 under TCG): after a live
 * disk-only snapshot the running QEMU's graph matches the metadata; after an out-of-band
 * blockdev-snapshot through qemu-monitor-command it does not, the check says so in plain
 * words, and --repair leaves it alone (only the user can tell which side is right); so is
 * a block node with snapvirt's naming that no disk uses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { makeRunningEnv } from '../support/active-env.js';

const run = promisify(execFile);

test('a running domain: graph matches after a live snapshot; an out-of-band blockdev-snapshot is reported and not repaired', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  const { dom, disks } = r;
  await dom.create();
  await dom.snapshotCreateXML('<domainsnapshot><name>live1</name></domainsnapshot>', C.DISK_ONLY);
  assert.deepEqual((await dom.checkSnapshots()).findings, []);

  // Someone adds an overlay behind snapvirt's back.
  const overlay = join(r.env.imageDir, 'sneaky.qcow2');
  const top = disks[0]!.path.replace(/\.qcow2$/, '.live1');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', top, '-F', 'qcow2', overlay]);
  const add = await dom.qemuMonitorCommand(JSON.stringify({
    execute: 'blockdev-add',
    arguments: { driver: 'qcow2', 'node-name': 'sneaky', file: { driver: 'file', filename: overlay }, backing: null },
  }));
  assert.deepEqual(JSON.parse(add).return, {}, add);
  const snap = await dom.qemuMonitorCommand(JSON.stringify({
    execute: 'blockdev-snapshot', arguments: { node: 'drive-vda-g1-fmt', overlay: 'sneaky' },
  }));
  assert.deepEqual(JSON.parse(snap).return, {}, snap);

  const report = await dom.checkSnapshots();
  assert.deepEqual(report.findings.map((f) => [f.kind, f.subject, f.repairable]), [['qemu-graph', 'disk:vda', false]]);
  assert.equal(report.findings[0]!.message,
    `disk vda: the running QEMU writes to '${overlay}' (chain ${overlay} -> ${top} -> ${disks[0]!.path}), but the metadata says the disk is '${top}'; `
    + 'the block graph was changed outside snapvirt, and snapshots taken now would not cover what the guest writes');
  const repaired = await dom.checkSnapshots({ repair: true });
  assert.equal(repaired.consistent, false);
  assert.equal(repaired.findings[0]!.repair?.done, false);
  assert.match(repaired.findings[0]!.repair!.detail, /changed outside snapvirt; which side is right cannot be proven/);
  // A node with snapvirt's naming that no disk uses (what a failed live create could leave).
  const orphan = join(r.env.imageDir, 'orphan.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', orphan, '1M']);
  await dom.qemuMonitorCommand(JSON.stringify({
    execute: 'blockdev-add', arguments: { driver: 'qcow2', 'node-name': 'drive-vda-g7-fmt', file: { driver: 'file', filename: orphan } },
  }));
  const withNode = await dom.checkSnapshots();
  assert.deepEqual(withNode.findings.map((f) => f.subject), ['disk:vda', 'node:drive-vda-g7-fmt']);
  assert.equal(withNode.findings[1]!.message,
    `the running QEMU has block node 'drive-vda-g7-fmt' on '${orphan}' that no disk uses: a live operation left it attached`);
  // The overlay QEMU writes to is not snapvirt's: never a stray file, never removed.
  assert.deepEqual((await run('ls', [r.env.imageDir])).stdout.split('\n').filter(Boolean).sort(),
    ['orphan.qcow2', 'sneaky.qcow2', 'vm-0.live1', 'vm-0.qcow2']);
});
