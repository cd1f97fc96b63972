/**
 * Which image files snapvirt created is kept in the state database and written in the
 * operation's commit transaction: a crash inside that transaction (after the ownership
 * rows, before COMMIT) or right after COMMIT leaves, once a fresh process recovered,
 * exactly the state before or exactly the state after. Never a file snapvirt created for
 * a committed snapshot that the record does not list, never a listed file that is gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { SnapshotCreateFlags as C } from '../../../../src/api/flags.js';
import { DB_FILE_NAME } from '../../../../src/store/open-store.js';
import { openQemuTestEnv, type QemuTestEnv } from '../../../helpers/qemu-connection.js';
import { domainXml, makeImages, diskSourcesIn } from '../../../helpers/domain-fixture.js';
import { namesIn } from '../../../helpers/disk-state.js';
import { runChildOp } from '../../../helpers/run-child-op.js';

const OWNERSHIP_POINT = 'ownership.rows-written.before-commit';

/** The created files recorded for every domain, read with a connection of its own. */
function ownedFiles(env: QemuTestEnv): string[] {
  const db = new Database(join(env.stateDir, DB_FILE_NAME), { readonly: true });
  try {
    return (db.prepare('SELECT path FROM created_images ORDER BY path').pluck().all() as string[])
      .map((p) => p.slice(env.imageDir.length + 1));
  } finally {
    db.close();
  }
}

for (const point of [`${OWNERSHIP_POINT}=crash`, 'create.commit.after=crash']) {
  test(`crash (${point}) in an external create: the ownership record is before or after, as the metadata`, async (t) => {
    const env = await openQemuTestEnv();
    t.after(() => env.cleanup());
    const disks = await makeImages(env.imageDir, 'vm', ['qcow2', 'raw']);
    await env.conn.domainDefineXML(domainXml('vm', disks));
    await env.conn.close();
    const res = await runChildOp(env.stateDir, point, ['create', 'vm', '<domainsnapshot><name>e1</name></domainsnapshot>', String(C.DISK_ONLY)]);
    assert.equal(res.signal, 'SIGKILL', res.stderr);
    const conn = await env.reopen(); // recovery runs here, in a process that did not crash
    const dom = await conn.domainLookupByName('vm');
    const snapshots = (await dom.listAllSnapshots()).map((s) => s.getName());
    if (point.startsWith(OWNERSHIP_POINT)) {
      assert.deepEqual(snapshots, []);
      assert.deepEqual(ownedFiles(env), []);
      assert.deepEqual(await namesIn(env.imageDir), ['vm-0.qcow2', 'vm-1.raw']);
    } else {
      assert.deepEqual(snapshots, ['e1']);
      assert.deepEqual(ownedFiles(env), ['vm-0.e1', 'vm-1.e1']);
      assert.deepEqual(await namesIn(env.imageDir), ['vm-0.e1', 'vm-0.qcow2', 'vm-1.e1', 'vm-1.raw']);
      assert.deepEqual(diskSourcesIn(await dom.getXMLDesc()), [`${env.imageDir}/vm-0.e1`, `${env.imageDir}/vm-1.e1`]);
    }
  });
}

for (const point of [`${OWNERSHIP_POINT}=crash`, 'revert.commit.after=crash']) {
  test(`crash (${point}) in a revert that discards the previous revert overlay: ownership before or after`, async (t) => {
    const env = await openQemuTestEnv();
    t.after(() => env.cleanup());
    const disks = await makeImages(env.imageDir, 'vm', ['qcow2']);
    const dom = await env.conn.domainDefineXML(domainXml('vm', disks));
    await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', C.DISK_ONLY);
    await (await dom.snapshotLookupByName('e1')).revert();
    const before = ownedFiles(env);
    assert.deepEqual(before, ['vm-0.e1', 'vm-0.e1-revert1']);
    assert.deepEqual(await namesIn(env.imageDir), ['vm-0.e1', 'vm-0.e1-revert1', 'vm-0.qcow2']);
    await env.conn.close();
    const res = await runChildOp(env.stateDir, point, ['revert', 'vm', 'e1', '0']);
    assert.equal(res.signal, 'SIGKILL', res.stderr);
    const conn = await env.reopen();
    const cur = diskSourcesIn(await (await conn.domainLookupByName('vm')).getXMLDesc());
    const owned = ownedFiles(env);
    if (point.startsWith(OWNERSHIP_POINT)) {
      assert.deepEqual(cur, [`${env.imageDir}/vm-0.e1-revert1`]);
      assert.deepEqual(owned, before);
      assert.deepEqual(await namesIn(env.imageDir), ['vm-0.e1', 'vm-0.e1-revert1', 'vm-0.qcow2']);
    } else {
      assert.equal(cur.length, 1);
      const fresh = cur[0]!.slice(env.imageDir.length + 1);
      assert.notEqual(fresh, 'vm-0.e1-revert1');
      assert.deepEqual(owned, ['vm-0.e1', fresh].sort());
      // Recovery finished discarding the old overlay, so every file left is listed or the user's.
      assert.deepEqual(await namesIn(env.imageDir), ['vm-0.e1', fresh, 'vm-0.qcow2'].sort());
    }
  });
}
