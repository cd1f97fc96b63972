/**
 * Group snapshots through a real snapvirtd (snapvirt's own program, procedures 7–15), on
 * qemu:///session with real qcow2 images: the CLI over a remote URI prints what it prints
 * locally on the same state directory (create, list, info, dumpxml, a member's refusal,
 * revert, delete), the library gets the same data and errors, and the read-only socket
 * refuses every change with libvirt's message.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, groupOfSnapshot, VirError } from '../../src/index.js';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';
import { openSessionAt } from '../helpers/qemu-connection.js';
import { snapvirtCommand } from '../helpers/run-command.js';
import { startSnapvirtd } from '../helpers/snapvirtd.js';
import { makeTempDir } from '../helpers/temp-dir.js';

test('group snapshots through snapvirtd: the CLI and the library get what they get locally', async () => {
  const tmp = await makeTempDir('snapvirtd-groups-');
  const stateDir = join(tmp.path, 'state');
  const daemon = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: stateDir });
  const remoteUri = `qemu+unix:///session?socket=${daemon.socket}`;
  const env = { SNAPVIRT_STATE_DIR: stateDir, TZ: 'UTC' };
  try {
    const images = join(tmp.path, 'images');
    await mkdir(images);
    for (const name of ['web', 'db']) {
      const file = join(tmp.path, `${name}.xml`);
      await writeFile(file, domainXml(name, await makeImages(images, name, ['qcow2'])));
      assert.equal((await snapvirtCommand(['-c', 'qemu:///session', 'define', file], env)).code, 0);
    }
    const remote = (...args: string[]) => snapvirtCommand(['-c', remoteUri, ...args], env);
    const local = (...args: string[]) => snapvirtCommand(['-c', 'qemu:///session', ...args], env);
    const created = await remote('group-snapshot-create', 'nightly', 'web', 'db', '--description', 'app & db', '--disk-only');
    assert.deepEqual([created.code, created.stdout, created.stderr], [0, 'Group snapshot nightly created\n\n', '']);
    // Every reading command prints through the daemon what it prints locally.
    for (const cmd of [['group-snapshot-list'], ['group-snapshot-info', 'nightly'], ['group-snapshot-dumpxml', 'nightly'],
      ['snapshot-list', 'web', '--name'], ['group-snapshot-info', 'nope'], ['snapshot-delete', 'web', 'nightly']]) {
      const [r, l] = [await remote(...cmd), await local(...cmd)];
      assert.deepEqual([r.code, r.stdout, r.stderr], [l.code, l.stdout, l.stderr], cmd.join(' '));
    }
    assert.match((await remote('group-snapshot-info', 'nightly')).stdout, /Members: +2\n/);

    const conn = await connect(remoteUri);
    try {
      const group = await conn.groupSnapshotLookupByName('nightly');
      const info = await group.getInfo();
      const localConn = await openSessionAt(stateDir);
      try {
        assert.deepEqual(info, await (await localConn.groupSnapshotLookupByName('nightly')).getInfo());
      } finally {
        await localConn.close();
      }
      const members = await group.listMemberSnapshots();
      assert.deepEqual(members.map((m) => `${m.getDomain().getName()}/${m.getName()}`).sort(), ['db/nightly', 'web/nightly']);
      assert.equal((await groupOfSnapshot(members[0]!))?.getName(), 'nightly');
      assert.deepEqual((await conn.listAllGroupSnapshots()).map((g) => g.getName()), ['nightly']);
      await assert.rejects(conn.groupSnapshotLookupByName('nope'), (e: unknown) => e instanceof VirError && e.code === 72);
    } finally {
      await conn.close();
    }

    // No read-only flag on the client: the refusal must come from the daemon's read-only socket.
    const ro = await connect(`qemu+unix:///session?socket=${daemon.roSocket}`);
    try {
      await assert.rejects((await ro.groupSnapshotLookupByName('nightly')).delete(), (e: unknown) => e instanceof VirError
        && e.message === 'operation forbidden: read only access prevents virGroupSnapshotDelete');
    } finally {
      await ro.close();
    }

    const reverted = await remote('group-snapshot-revert', 'nightly');
    assert.deepEqual([reverted.code, reverted.stderr], [0, '']);
    const deleted = await remote('group-snapshot-delete', 'nightly');
    assert.deepEqual([deleted.code, deleted.stdout], [0, 'Group snapshot nightly deleted\n\n']);
    assert.match((await local('group-snapshot-list')).stdout, /^ Name +Creation Time +State +Members\n-+\n\n$/);
  } finally {
    await daemon.stop();
    await tmp.cleanup();
  }
});
