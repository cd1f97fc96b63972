/**
 * A blockcommit killed while its QMP job runs (the snapvirt process dies with SIGKILL at
 * the failpoint right after block-commit was issued) is finished on the next open: through
 * the same QEMU when it still runs (the leftover job is found by its id and completed),
 * or, when the QEMU died too, offline with qemu-img commit. Either way the disk ends on the
 * base with every byte the guest wrote, both definitions name the base, and no journal
 * entry stays open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { runtimeDirFor } from '../../../../src/drivers/qemu/domain/active-runtime.js';
import { terminateQemuIn } from '../../../../src/drivers/qemu/domain/qemu-process.js';
import { hasPattern } from '../../../helpers/qemu-io.js';
import { snapvirtCommand } from '../../../helpers/run-command.js';
import { guestWriteVia, makeRunningEnv, queryBlock } from '../support/active-env.js';

const K64 = 64 * 1024;

for (const qemuDies of [false, true]) {
  test(`a blockcommit killed mid-job is finished on the next open (${qemuDies ? 'QEMU died too: offline' : 'QEMU still runs: live'})`, async (t) => {
    const r = await makeRunningEnv(1);
    t.after(() => r.cleanup());
    const { dom, disks, env } = r;
    const base = disks[0]!.path;
    const top = base.replace(/\.qcow2$/, '.top');
    await dom.create();
    await guestWriteVia(dom, 'vda', 0x11, 0, '64k');
    await dom.snapshotCreateXML(`<domainsnapshot><name>t</name><disks><disk name='vda' snapshot='external'><source file='${top}'/></disk></disks></domainsnapshot>`,
      C.DISK_ONLY | C.NO_METADATA);
    await guestWriteVia(dom, 'vda', 0x22, K64, '4M');
    const runtimeDir = runtimeDirFor(env.stateDir, dom.getUUIDString());
    await env.conn.close();

    const out = await snapvirtCommand(['-c', 'qemu:///session', 'blockcommit', 'vm', 'vda', '--active', '--pivot'], {
      SNAPVIRT_STATE_DIR: env.stateDir, SNAPVIRT_QEMU_ACCEL: 'tcg', SNAPVIRT_FAILPOINTS: 'live-merge.job.started=crash', SNAPVIRT_TESTING: '1',
    });
    assert.notEqual(out.code, 0, 'the failpoint killed the command');
    assert.ok(!out.stderr.includes('error:'), `killed, not failed with an error: ${out.stderr}`);
    if (qemuDies) await terminateQemuIn(runtimeDir, 0);

    const conn = await env.reopen();
    const again = await conn.domainLookupByName('vm');
    for (const flags of [0, 2]) assert.ok((await again.getXMLDesc(flags)).includes(`<source file='${base}'/>`), 'the definitions name the base');
    if (!qemuDies) {
      assert.deepEqual((await queryBlock(again)).map((b) => [b.file, b.depth]), [[base, 0]], 'the running disk pivoted onto the base');
      assert.equal(await again.getBlockJobInfo('vda'), null, 'no job is left behind');
      await again.destroy();
    }
    assert.ok(await hasPattern(base, 'qcow2', 0x11, 0, K64));
    assert.ok(await hasPattern(base, 'qcow2', 0x22, K64, 4 << 20), 'what the guest wrote into the overlay is in the base');
    const check = await again.checkSnapshots();
    assert.deepEqual(check.findings.filter((f) => f.kind.includes('journal')), [], 'no journal entry is left open');
  });
}
