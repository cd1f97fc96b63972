/** snapshot-check on test:///default: a check of the snapshot tree's metadata, nothing to repair. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '../../../src/api/connection.js';
import { VirError, VirErrorCode } from '../../../src/api/errors.js';

test('the test driver checks its snapshot tree and reports it consistent', async () => {
  const conn = await connect('test:///default');
  const dom = await conn.domainLookupByName('test');
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>');
  await dom.snapshotCreateXML('<domainsnapshot><name>s2</name></domainsnapshot>');
  assert.deepEqual(await dom.checkSnapshots(), { domain: 'test', repaired: false, findings: [], consistent: true });
  assert.deepEqual(await dom.checkSnapshots({ repair: true }), { domain: 'test', repaired: true, findings: [], consistent: true });
  await conn.close();
});

test('a read-only test connection checks, and refuses --repair with libvirt\'s read-only error', async () => {
  const conn = await connect('test:///default', { readOnly: true });
  const dom = await conn.domainLookupByName('test');
  assert.equal((await dom.checkSnapshots()).consistent, true);
  await assert.rejects(dom.checkSnapshots({ repair: true }), (e: unknown) =>
    e instanceof VirError && e.code === VirErrorCode.OPERATION_DENIED);
  await conn.close();
});
