/**
 * A fault that appears after a delete's commit point (issue 12, item 4): the disk fills up
 * between the commit and the merge (the CLI is stopped there by the `stop` failpoint while
 * the test fills the tmpfs). The delete is done (exit 0, with a warning); its merge stays
 * pending and is reported by snapshot-check, but the domain stays usable: a snapshot of
 * its other disk is created and reverted to, while operations on the pending merge's
 * images are refused with a message naming it. Once the space is back, the merge finishes
 * at the next open and every byte of data is where it belongs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SnapshotCreateFlags as C } from '../../../../../src/api/flags.js';
import { VirError, VirErrorCode } from '../../../../../src/api/errors.js';
import { domainXml, makeImages } from '../../../../helpers/domain-fixture.js';
import { mountTmpfs, unmount } from '../../../../helpers/mounts.js';
import { openQemuTestEnv } from '../../../../helpers/qemu-connection.js';
import { hasPattern, writePattern } from '../../../../helpers/qemu-io.js';
import { fillLeaving } from '../../../../crash/fault-helpers.js';

const SNAPVIRT = fileURLToPath(new URL('../../../../../../bin/snapvirt', import.meta.url));
const MiB = 1 << 20;

/** Waits until process `pid` is stopped (SIGSTOP by a `stop` failpoint). */
async function stopped(pid: number): Promise<void> {
  for (;;) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the disk fills up after a delete committed: the merge stays pending, the domain stays usable, the merge finishes later', async (t) => {
  const env = await openQemuTestEnv();
  await mountTmpfs(env.imageDir, 48 * MiB);
  t.after(async () => {
    await unmount(env.imageDir);
    await env.cleanup();
  });
  // vdb lives elsewhere: the merge's failed attempts take every byte left on the tmpfs.
  const [vda] = await makeImages(env.imageDir, 'vm', ['qcow2'], 16 * MiB);
  const otherDir = join(env.tmp.path, 'other');
  await mkdir(otherDir);
  const [unused, vdb] = await makeImages(otherDir, 'vm', ['qcow2', 'qcow2'], 16 * MiB); // vdb: vm-1.qcow2
  await rm(unused!.path);
  const dom = await env.conn.domainDefineXML(domainXml('vm', [vda!, vdb!]));
  await writePattern(vda!.path, 'qcow2', 0x31, 0, MiB);
  await dom.snapshotCreateXML(
    "<domainsnapshot><name>e0</name><disks><disk name='vda' snapshot='external'/><disk name='vdb' snapshot='no'/></disks></domainsnapshot>",
    C.DISK_ONLY);
  const overlay = join(env.imageDir, 'vm-0.e0');
  await writePattern(overlay, 'qcow2', 0x32, MiB, 4 * MiB);

  // The delete passes its checks, commits, and stops before its merge; the disk fills up.
  const filler = join(env.imageDir, 'filler');
  const res = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = execFile(process.execPath, [SNAPVIRT, '-c', 'qemu:///session', 'snapshot-delete', 'vm', 'e0'], {
      env: { ...process.env, SNAPVIRT_STATE_DIR: env.stateDir, SNAPVIRT_FAILPOINTS: 'delete.finalize.before=stop', SNAPVIRT_TESTING: '1' },
    }, (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout: String(stdout), stderr: String(stderr) }));
    stopped(child.pid!).then(() => fillLeaving(env.imageDir, MiB)).then(() => child.kill('SIGCONT'), reject);
  });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /Domain snapshot e0 deleted/);
  assert.match(res.stderr, /delete on domain 'vm' is done, but its post-commit work did not finish: .*No space left on device.*; it is retried before every operation/, res.stderr);

  // snapshot-check reports the pending merge; --repair retries it and says it failed again.
  const report = await dom.checkSnapshots();
  assert.equal(report.findings.length, 1, JSON.stringify(report.findings));
  assert.match(report.findings[0]!.message, /^journal entry \d+: the post-commit work of the delete of snapshot 'e0' started at .* has not finished \(.*No space left on device.*\); the delete itself is done; operations on its images are refused/);
  const repaired = await dom.checkSnapshots({ repair: true });
  assert.equal(repaired.findings[0]?.repair?.done, false);
  assert.match(repaired.findings[0]!.repair!.detail, /retried, and it failed again: .*No space left on device/);

  // The domain stays usable: a snapshot of the other disk, and a revert to it.
  await dom.snapshotCreateXML(
    "<domainsnapshot><name>e1</name><disks><disk name='vda' snapshot='no'/><disk name='vdb' snapshot='external'/></disks></domainsnapshot>",
    C.DISK_ONLY);
  await writePattern(join(otherDir, 'vm-1.e1'), 'qcow2', 0x41, 0, MiB);
  await (await dom.snapshotLookupByName('e1')).revert();
  assert.match(await dom.getXMLDesc(), /vm-1\.e1-revert1'/, 'vdb is not on a new overlay');
  assert.equal(await hasPattern(join(otherDir, 'vm-1.e1-revert1'), 'qcow2', 0x41, 0, MiB), false, 'the revert of vdb did not happen');
  // What builds on the pending merge's images is refused, naming the pending merge.
  await assert.rejects(
    dom.snapshotCreateXML("<domainsnapshot><name>e2</name><disks><disk name='vda' snapshot='external'/><disk name='vdb' snapshot='no'/></disks></domainsnapshot>", C.DISK_ONLY),
    (err: unknown) => err instanceof VirError && err.code === VirErrorCode.OPERATION_INVALID &&
      /image '.*vm-0\.e0' is part of the post-commit work of the delete of snapshot 'e0' on domain 'vm' \(journal entry \d+\), which has not finished/.test(err.message),
  );
  assert.deepEqual((await dom.listAllSnapshots()).map((s) => s.getName()), ['e1']);

  // Space again: the next open finishes the merge; nothing is left to report.
  await rm(filler);
  const conn = await env.reopen();
  const again = await conn.domainLookupByName('vm');
  assert.deepEqual((await again.checkSnapshots()).findings, []);
  assert.deepEqual((await readdir(env.imageDir)).sort(), ['vm-0.qcow2']);
  assert.match(await again.getXMLDesc(), new RegExp(`<source file='${vda!.path}'/>`));
  assert.ok(await hasPattern(vda!.path, 'qcow2', 0x31, 0, MiB) && await hasPattern(vda!.path, 'qcow2', 0x32, MiB, 4 * MiB), 'the merged data');
  assert.match(await (await again.snapshotLookupByName('e1')).getXMLDesc(), new RegExp(`<source file='${vda!.path}'/>`));
});
