/** Domains on the offline QEMU driver: state dirs, define/undefine, lookups, list filters, info. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { DomainState, ListDomainsFlags as F } from '../../../src/api/flags.js';
import { VirError, VirErrorCode } from '../../../src/api/errors.js';
import { qemuUriKind, stateDirFor } from '../../../src/drivers/qemu/catalog/qemu-paths.js';
import { openQemuTestEnv } from '../../helpers/qemu-connection.js';
import { domainXml, makeImages } from '../../helpers/domain-fixture.js';

test('state directories: system, session with and without XDG_DATA_HOME, override', () => {
  assert.equal(stateDirFor('system', {}), '/var/lib/snapvirt');
  assert.equal(stateDirFor('session', { HOME: '/home/u' }), '/home/u/.local/share/snapvirt');
  assert.equal(stateDirFor('session', { HOME: '/home/u', XDG_DATA_HOME: '/x/data' }), '/x/data/snapvirt');
  assert.equal(stateDirFor('session', { HOME: '/home/u', XDG_DATA_HOME: 'relative' }), '/home/u/.local/share/snapvirt');
  assert.equal(stateDirFor('system', { SNAPVIRT_STATE_DIR: '/tmp/s' }), '/tmp/s');
  assert.throws(() => stateDirFor('system', { SNAPVIRT_STATE_DIR: 'rel' }), VirError);
  assert.equal(qemuUriKind(new URL('qemu:///system')), 'system');
  assert.equal(qemuUriKind(new URL('qemu:///session')), 'session');
  assert.throws(() => qemuUriKind(new URL('qemu:///bogus')), /unexpected QEMU URI path '\/bogus'/);
});

test('define, lookup, list filters, info, XML round trip, undefine; state survives reopen', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  assert.equal((await stat(env.stateDir)).mode & 0o777, 0o700);
  assert.equal(env.conn.getType(), 'QEMU');
  assert.equal(env.conn.getURI(), 'qemu:///session');
  const disks = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', disks, '11111111-2222-3333-4444-555555555555'));
  assert.equal(dom.getUUIDString(), '11111111-2222-3333-4444-555555555555');
  assert.equal(dom.getID(), -1);
  assert.equal((await env.conn.domainLookupByUUIDString('11111111-2222-3333-4444-555555555555')).getName(), 'vm');
  await assert.rejects(env.conn.domainLookupByName('nope'), (e: unknown) => e instanceof VirError && e.code === VirErrorCode.NO_DOMAIN && e.message === "Domain not found: no domain with matching name 'nope'");
  await assert.rejects(env.conn.domainLookupByID(1), (e: unknown) => e instanceof VirError && e.code === VirErrorCode.NO_DOMAIN);
  // virDomainObjListAdd's message for a name taken by another UUID (libvirt's test driver gives the same).
  await assert.rejects(env.conn.domainDefineXML(domainXml('vm', disks)), (e: unknown) => e instanceof VirError
    && e.message === "operation failed: domain 'vm' already exists with uuid 11111111-2222-3333-4444-555555555555");
  await assert.rejects(env.conn.domainDefineXML(domainXml('vm2', disks, '11111111-2222-3333-4444-555555555555')), (e: unknown) => e instanceof VirError
    && e.message === "operation failed: domain 'vm' is already defined with uuid 11111111-2222-3333-4444-555555555555");

  const info = await dom.getInfo();
  assert.equal(info.state, DomainState.SHUTOFF);
  assert.equal(info.maxMemKiB, 131072);
  assert.equal(info.nrVirtCpu, 1);
  assert.equal((await dom.getExtraInfo()).osType, 'hvm');
  assert.equal(await dom.isActive(), false);
  assert.equal(await dom.isPersistent(), true);
  const xml = await dom.getXMLDesc();
  assert.match(xml, /<source file='[^']+vm-0\.qcow2'\/>/);
  assert.match(xml, /<target dev='vda' bus='virtio'\/>/);

  await env.conn.domainDefineXML(domainXml('other', []));
  const names = async (flags: number) => (await env.conn.listAllDomains(flags)).map((d) => d.getName()).sort();
  assert.deepEqual(await names(0), ['other', 'vm']);
  assert.deepEqual(await names(F.ACTIVE), []);
  assert.deepEqual(await names(F.INACTIVE | F.PERSISTENT), ['other', 'vm']);
  await dom.snapshotCreateXML('<domainsnapshot><name>s</name></domainsnapshot>');
  assert.deepEqual(await names(F.HAS_SNAPSHOT), ['vm']);
  assert.deepEqual(await names(F.NO_SNAPSHOT), ['other']);

  await assert.rejects(dom.destroy(), (e: unknown) => e instanceof VirError && e.message === 'Requested operation is not valid: domain is not running');

  const conn2 = await env.reopen();
  const again = await conn2.domainLookupByName('vm');
  assert.equal(await again.getXMLDesc(), xml);
  assert.equal((await again.snapshotCurrent()).getName(), 's');
  await (await conn2.domainLookupByName('other')).undefine();
  assert.deepEqual((await conn2.listAllDomains()).map((d) => d.getName()), ['vm']);
});

test('define with VALIDATE checks the domain schema', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  await assert.rejects(env.conn.domainDefineXML(domainXml('v', []).replace('<devices>', '<bogus/><devices>'), 1),
    (e: unknown) => e instanceof VirError && e.code === VirErrorCode.XML_INVALID_SCHEMA);
  assert.deepEqual(await env.conn.listAllDomains(), []);
  await env.conn.domainDefineXML(domainXml('v', []), 1);
  assert.equal((await env.conn.listAllDomains()).length, 1);
});
