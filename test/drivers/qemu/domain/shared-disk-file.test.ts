/**
 * Two disks on one image file (a `<disk>` block pasted twice) cannot work: internal
 * snapshots would race themselves and a revert could never succeed. The definition is
 * refused at define, at create and in a redefined snapshot's `<domain>`, whatever the
 * spelling of the path (compared by device and inode); read-only or shareable disks may
 * share a file, as QEMU allows.
 */
import assert from 'node:assert/strict';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isVirError, VirErrorCode } from '../../../../src/api/errors.js';
import { SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { domainXml, makeImages, type FixtureDisk } from '../../../helpers/domain-fixture.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';

const UUID = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';

function sharedFileError(second: string, first: string, path: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(isVirError(e, VirErrorCode.CONFIG_UNSUPPORTED), String(e));
    assert.equal(e.message, `unsupported configuration: disk '${second}' uses the same file as disk '${first}' ('${path}'): ` +
      'disks may share a file only when each is read-only or <shareable/>');
    return true;
  };
}

test('two writable disks on one file are refused at define and create, however the path is spelled', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const [disk] = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const link = join(env.imageDir, 'link.qcow2');
  await symlink(disk!.path, link);
  for (const other of [disk!.path, join(env.imageDir, '.', '..', 'images', 'vm-0.qcow2'), link]) {
    const disks: FixtureDisk[] = [disk!, { ...disk!, target: 'vdb', path: other }];
    const xml = domainXml('vm', disks, UUID);
    await assert.rejects(env.conn.domainDefineXML(xml), sharedFileError('vdb', 'vda', disk!.path), other);
    await assert.rejects(env.conn.domainCreateXML(xml), sharedFileError('vdb', 'vda', disk!.path), other);
  }
  assert.deepEqual(await env.conn.listAllDomains(), []);
});

test('read-only or shareable disks may share a file; a second file is fine', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const [a, b] = await makeImages(env.imageDir, 'vm', ['qcow2', 'qcow2']);
  const readOnly = domainXml('ro', [{ ...a!, readonly: true }, { ...a!, target: 'vdb', readonly: true }]);
  assert.equal((await env.conn.domainDefineXML(readOnly)).getName(), 'ro');
  const shareable = domainXml('sh', [a!, { ...a!, target: 'vdb' }])
    .replace(/(<target dev='vd[ab]' bus='virtio'\/>)/g, '$1\n      <shareable/>');
  assert.equal((await env.conn.domainDefineXML(shareable)).getName(), 'sh');
  assert.equal((await env.conn.domainDefineXML(domainXml('two', [a!, b!]))).getName(), 'two');
  // One writable disk beside a read-only one on the same file is still refused.
  await assert.rejects(env.conn.domainDefineXML(domainXml('mixed', [a!, { ...a!, target: 'vdb', readonly: true }])),
    sharedFileError('vdb', 'vda', a!.path));
});

test('a redefined snapshot whose <domain> has two disks on one file is refused', async (t) => {
  const env = await openQemuTestEnv();
  t.after(() => env.cleanup());
  const [disk] = await makeImages(env.imageDir, 'vm', ['qcow2']);
  const dom = await env.conn.domainDefineXML(domainXml('vm', [disk!], UUID));
  const bad = domainXml('vm', [disk!, { ...disk!, target: 'vdb' }], UUID).replace(/^<domain/, '<domain').trim();
  const snapshot = `<domainsnapshot><name>r1</name><state>shutoff</state><creationTime>1700000000</creationTime>` +
    `<memory snapshot='no'/>${bad}</domainsnapshot>`;
  await assert.rejects(dom.snapshotCreateXML(snapshot, C.REDEFINE), sharedFileError('vdb', 'vda', disk!.path));
  assert.deepEqual(await dom.listAllSnapshots(), []);
});
