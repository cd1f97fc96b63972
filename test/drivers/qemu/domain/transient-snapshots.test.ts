/**
 * Snapshots of a running transient domain: internal with memory, live disk-only, revert
 * (QEMU restarted or the state loaded; the domain stays transient and running), libvirt's
 * refusal to revert a transient domain to an inactive snapshot without --running/--paused,
 * delete while it runs, and the data the guest sees after all of it.
 */
import { test } from 'node:test';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { DomainState, RunningReason, SnapshotCreateFlags as C, SnapshotRevertFlags as R } from '../../../../src/api/flags.js';
import { VirError, VirErrorCode } from '../../../../src/api/errors.js';
import { diskSourcesIn, domainXml, makeImages } from '../../../helpers/domain-fixture.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';
import { hasPattern } from '../../../helpers/qemu-io.js';
import { guestWriteVia, killAllQemu } from '../support/active-env.js';

process.env.SNAPVIRT_QEMU_ACCEL = 'tcg';
const K64 = 64 * 1024;

test('a running transient domain: memory and disk-only snapshots, revert and delete while it runs', async (t) => {
  const env = await openQemuTestEnv();
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  });
  const disks = await makeImages(env.imageDir, 'tr', ['qcow2'], 16 << 20);
  const dom = await env.conn.domainCreateXML(domainXml('tr', disks));

  await guestWriteVia(dom, 'vda', 0x11, 0, '64k');
  const m1 = await dom.snapshotCreateXML('<domainsnapshot><name>m1</name></domainsnapshot>');
  assert.match(await m1.getXMLDesc(), /<memory snapshot='internal'\/>/);
  await guestWriteVia(dom, 'vda', 0x22, 0, '64k');
  await m1.revert();
  assert.deepEqual(await dom.getState(), { state: DomainState.RUNNING, reason: RunningReason.FROM_SNAPSHOT });
  assert.equal(await dom.isPersistent(), false);

  const d1 = await dom.snapshotCreateXML('<domainsnapshot><name>d1</name></domainsnapshot>', C.DISK_ONLY);
  await guestWriteVia(dom, 'vda', 0x33, 0, '64k');
  // A transient domain has no definition to stay shut off with (libvirt's check and text).
  await assert.rejects(d1.revert(), (e: unknown) => e instanceof VirError && e.code === VirErrorCode.OPERATION_INVALID
    && e.message === 'Requested operation is not valid: transient domain needs to request run or pause to revert to inactive snapshot');
  assert.equal((await dom.getState()).state, DomainState.RUNNING, 'the refused revert changed nothing');
  await d1.revert(R.RUNNING);
  assert.deepEqual(await dom.getState(), { state: DomainState.RUNNING, reason: RunningReason.FROM_SNAPSHOT });
  assert.equal(await dom.isPersistent(), false);
  assert.deepEqual((await dom.listAllSnapshots()).map((s) => s.getName()).sort(), ['d1', 'm1']);

  // External memory: the revert starts a new QEMU from the memory file, on fresh overlays.
  const e1 = await dom.snapshotCreateXML(
    `<domainsnapshot><name>e1</name><memory snapshot='external' file='${join(env.imageDir, 'e1.mem')}'/></domainsnapshot>`);
  await guestWriteVia(dom, 'vda', 0x44, 0, '64k');
  await e1.revert();
  assert.deepEqual(await dom.getState(), { state: DomainState.RUNNING, reason: RunningReason.FROM_SNAPSHOT });
  assert.equal(await dom.isPersistent(), false);
  await d1.revert(R.RUNNING);

  await d1.delete();
  assert.deepEqual((await dom.listAllSnapshots()).map((s) => s.getName()).sort(), ['e1', 'm1']);
  assert.equal((await dom.getState()).state, DomainState.RUNNING);
  const [top] = diskSourcesIn(await dom.getXMLDesc());

  await dom.destroy();
  await assert.rejects(env.conn.domainLookupByName('tr'), (e: unknown) => e instanceof VirError && e.code === VirErrorCode.NO_DOMAIN);
  // The files stay, and hold what the guest had at d1 (m1's data), not the write after it.
  assert.ok(await hasPattern(top!, 'qcow2', 0x11, 0, K64));
});
