/**
 * Filesystem errors met through the public API are VirErrors with libvirt's code and
 * domain, never a raw Node error; one that carries an errno is a system error whose
 * message ends in strerror's text, as libvirt's virReportSystemError words it: a state directory that is a file or lies under one, a
 * state database that is a directory, a disk image that is a directory or missing, an
 * overlay path under a file. (Tests run as root, so permission bits cannot provoke
 * EACCES; these are the errors root meets too.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VirError, VirErrorCode, VirErrorDomain } from '../../src/api/errors.js';
import { SnapshotCreateFlags as C } from '../../src/api/flags.js';
import { openSessionAt as openSession } from '../helpers/qemu-connection.js';
import { makeTempDir } from '../helpers/temp-dir.js';

function isVirErrorWith(code: VirErrorCode, domain: VirErrorDomain, message: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof VirError, `not a VirError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.domain, domain, e.message);
    assert.match(e.message, message);
    return true;
  };
}

const domainXml = (image: string): string => `<domain type='qemu'><name>vm</name><memory>65536</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${image}'/><target dev='vda' bus='virtio'/></disk></devices>
</domain>`;

test('an unusable state directory or state database: VirError, not a Node error', async (t) => {
  const tmp = await makeTempDir('snapvirt-fserr-');
  t.after(() => tmp.cleanup());
  const file = join(tmp.path, 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(openSession(file),
    isVirErrorWith(VirErrorCode.OPERATION_FAILED, VirErrorDomain.NONE, /state directory '.*a-file' is not a directory/));
  await assert.rejects(openSession(join(file, 'sub')),
    isVirErrorWith(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.NONE, /^cannot create state directory '.*a-file\/sub': Not a directory$/));
  const state = join(tmp.path, 'state');
  await (await openSession(state)).close();
  const db = join(state, 'snapvirt.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
  mkdirSync(db);
  await assert.rejects(openSession(state),
    isVirErrorWith(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.NONE, /^cannot open state database '.*snapvirt\.db': Is a directory$/));
});

test('an unreadable disk image or overlay path: VirError with libvirt\'s code, nothing created', async (t) => {
  const tmp = await makeTempDir('snapvirt-fserr-');
  t.after(() => tmp.cleanup());
  const conn = await openSession(join(tmp.path, 'state'));
  t.after(() => conn.close());
  const image = join(tmp.path, 'vm.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '1M']);
  const dom = await conn.domainDefineXML(domainXml(image));
  const snap = (name: string, flags: number, disks = ''): Promise<unknown> =>
    dom.snapshotCreateXML(`<domainsnapshot><name>${name}</name>${disks}</domainsnapshot>`, flags);

  rmSync(image);
  mkdirSync(image);
  await assert.rejects(snap('s1', 0), isVirErrorWith(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, /cannot use image '.*vm\.qcow2'.*regular file/));
  await assert.rejects(snap('s1', C.DISK_ONLY), isVirErrorWith(VirErrorCode.CONFIG_UNSUPPORTED, VirErrorDomain.DOMAIN_SNAPSHOT, /is not a regular file/));
  rmSync(image, { recursive: true });
  await assert.rejects(snap('s1', 0), isVirErrorWith(VirErrorCode.OPERATION_FAILED, VirErrorDomain.QEMU, /No such file or directory/));

  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '1M']);
  const blocker = join(tmp.path, 'blocker');
  writeFileSync(blocker, 'x');
  const overlay = join(blocker, 'ov.qcow2');
  await assert.rejects(snap('e1', C.DISK_ONLY, `<disks><disk name='vda' snapshot='external'><source file='${overlay}'/></disk></disks>`),
    isVirErrorWith(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.QEMU, /Not a directory/));
  assert.equal(await dom.snapshotNum(), 0, 'nothing recorded');
});
