import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, DomainXMLFlags, isVirError, SnapshotXMLFlags, VirErrorCode } from '../../src/index.js';

/** Asserts that `action` is refused with libvirt's OPERATION_DENIED error and `message`. */
async function assertDenied(action: () => Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(action, (err: unknown) => {
    assert.ok(isVirError(err, VirErrorCode.OPERATION_DENIED), String(err));
    assert.equal(err.message, message);
    return true;
  });
}

test('a read-only connection refuses every mutating call and changes nothing', async () => {
  const rw = await connect('test:///default');
  const seed = await (await rw.domainLookupByName('test')).snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>');
  assert.equal(seed.getName(), 's1');
  await rw.close();

  const conn = await connect('test:///default', { readOnly: true });
  assert.equal(conn.isReadOnly(), true);
  const dom = await conn.domainLookupByName('test');
  await assertDenied(() => dom.snapshotCreateXML('<domainsnapshot/>'), 'operation forbidden: read only access prevents virDomainSnapshotCreateXML');
  await assertDenied(() => dom.destroy(), 'operation forbidden: read only access prevents virDomainDestroy');
  await assertDenied(() => dom.suspend(), 'operation forbidden: read only access prevents virDomainSuspend');
  await assertDenied(() => dom.undefine(), 'operation forbidden: read only access prevents virDomainUndefineFlags');
  await assertDenied(() => conn.domainDefineXML('<domain/>'), 'operation forbidden: read only access prevents virDomainDefineXML');
  await assertDenied(() => dom.getXMLDesc(DomainXMLFlags.SECURE), 'operation forbidden: virDomainGetXMLDesc with secure flag');
  assert.equal(await dom.snapshotNum(), 0);
  assert.equal((await dom.getState()).state, 1);
  assert.match(await dom.getXMLDesc(), /<name>test<\/name>/);
  await conn.close();
});

test('read-only snapshot handles refuse revert, delete and secure XML', async () => {
  const conn = await connect('test:///default');
  const dom = await conn.domainLookupByName('test');
  await dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>');
  await conn.close();
  // A read-only connection has its own in-memory node; build the handle through a fresh
  // connection that is read-only from the start and has no snapshot: lookups still work.
  const ro = await connect('test:///default', { readOnly: true });
  const roDom = await ro.domainLookupByName('test');
  await assert.rejects(() => roDom.snapshotLookupByName('s1'), (err: unknown) => isVirError(err, VirErrorCode.NO_DOMAIN_SNAPSHOT));
  const { DomainSnapshot } = await import('../../src/api/domain-snapshot.js');
  const handle = DomainSnapshot.of(roDom, 's1');
  await assertDenied(() => handle.revert(), 'operation forbidden: read only access prevents virDomainRevertToSnapshot');
  await assertDenied(() => handle.delete(), 'operation forbidden: read only access prevents virDomainSnapshotDelete');
  await assertDenied(() => handle.getXMLDesc(SnapshotXMLFlags.SECURE), 'operation forbidden: virDomainSnapshotGetXMLDesc with secure flag');
  await ro.close();
});
