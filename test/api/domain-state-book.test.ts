/**
 * The look at a connection's domains (domain-state-book.ts): a domain an operation holds is
 * left as it was (no event, not even asked about) and seen once the operation is done; the
 * QEMU driver's probe (domain-busy.ts) says busy exactly while a live holder has the lock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect } from '../../src/index.js';
import { domainBusyProbe } from '../../src/api/domain-busy.js';
import { DomainStateBook } from '../../src/api/domain-state-book.js';
import { tryAcquireDomainLock } from '../../src/txn/index.js';
import { openQemuTestEnv } from '../helpers/qemu-connection.js';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';

test('a busy domain is left as it was until its operation is done', async () => {
  const conn = await connect('test:///default');
  try {
    const seen: string[] = [];
    let busy = false;
    const book = new DomainStateBook((_uuid, s, events) => { for (const [e, d, n] of events) seen.push(`${n} ${e} ${d}`); }, () => busy);
    await book.look(conn, false);
    const dom = await conn.domainLookupByName('test');
    busy = true;
    await dom.suspend();
    await book.look(conn, true);
    assert.deepEqual(seen, [], 'nothing while the operation holds the domain');
    busy = false;
    await book.look(conn, true);
    assert.deepEqual(seen, ['test 3 0']);
  } finally {
    await conn.close();
  }
});

test("the QEMU driver's probe: busy while a live holder has the domain's lock, not before or after", async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const dom = await env.conn.domainDefineXML(domainXml('vm', await makeImages(env.imageDir, 'vm', ['qcow2'])));
  const probe = domainBusyProbe(env.conn.driver);
  assert.ok(probe);
  const uuid = dom.getUUIDString();
  assert.equal(probe(uuid), false);
  const lock = tryAcquireDomainLock(join(env.stateDir, 'locks'), uuid, 'destroy');
  assert.ok(lock);
  try {
    assert.equal(probe(uuid), true);
  } finally {
    lock.release();
  }
  assert.equal(probe(uuid), false);
  const testConn = await connect('test:///default');
  try {
    assert.equal(domainBusyProbe(testConn.driver), undefined, 'the test driver has no locks');
  } finally {
    await testConn.close();
  }
});
