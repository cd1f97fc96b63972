/**
 * The group snapshot commands through bin/snapvirt on qemu:///session with real images:
 * create (names, ids or UUIDs of the members; --description; --disk-only), list, info,
 * dumpxml, and each member's ordinary snapshot in snapshot-list; errors as virsh prints
 * them (`error: …`, status 1) with nothing changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { snapvirtCommand } from '../../helpers/run-command.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { domainXml, makeImages } from '../../helpers/domain-fixture.js';
import { listingOf } from '../../helpers/disk-state.js';

test('group-snapshot-create, -list, -info, -dumpxml, and the members in snapshot-list', async () => {
  const tmp = await makeTempDir('snapvirt-group-cli-');
  try {
    const env = { SNAPVIRT_STATE_DIR: join(tmp.path, 'state'), TZ: 'UTC' };
    const images = join(tmp.path, 'images');
    await mkdir(images);
    const sv = (...args: string[]) => snapvirtCommand(['-c', 'qemu:///session', ...args], env);
    for (const name of ['web', 'db']) {
      const { writeFile } = await import('node:fs/promises');
      const xmlPath = join(tmp.path, `${name}.xml`);
      await writeFile(xmlPath, domainXml(name, await makeImages(images, name, ['qcow2', 'qcow2'])));
      assert.equal((await sv('define', xmlPath)).code, 0);
    }
    const created = await sv('group-snapshot-create', 'nightly', 'web', 'db', '--description', 'app & db', '--disk-only');
    assert.deepEqual([created.code, created.stdout, created.stderr], [0, 'Group snapshot nightly created\n\n', '']);
    for (const name of ['web', 'db']) {
      assert.match((await sv('snapshot-list', name, '--name')).stdout, /^nightly\n/);
      assert.match((await sv('domblklist', name)).stdout, new RegExp(`${name}-0\\.nightly`));
    }
    const list = await sv('group-snapshot-list');
    assert.equal(list.code, 0);
    assert.match(list.stdout, /^ Name +Creation Time +State +Members\n-+\n nightly +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 +shutoff +(web, db|db, web)\n\n$/);
    const info = await sv('group-snapshot-info', 'nightly');
    assert.match(info.stdout, /^Name: +nightly\nDescription: +app & db\nState: +shutoff\nCreation Time: .*\nMembers: +2\n  (web|db) \(.{36}\): snapshot nightly\n/);
    const xml = await sv('group-snapshot-dumpxml', 'nightly', '--xpath', '//member/domain/@name');
    assert.deepEqual(xml.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort(), ['name="db"', 'name="web"']);
    // A taken name and an unknown domain: virsh's error form, nothing changed.
    const before = await listingOf(images, { sizes: false });
    const again = await sv('group-snapshot-create', 'nightly', 'web', 'db');
    assert.deepEqual([again.code, again.stderr], [1, 'error: operation failed: group snapshot nightly already exists\n']);
    const unknown = await sv('group-snapshot-create', 'other', 'web', 'nosuch');
    assert.deepEqual([unknown.code, unknown.stderr], [1, "error: failed to get domain 'nosuch'\n"]);
    const missing = await sv('group-snapshot-info', 'nope');
    assert.deepEqual([missing.code, missing.stderr],
      [1, "error: Domain snapshot not found: no group snapshot with matching name 'nope'\n"]);
    assert.deepEqual(await listingOf(images, { sizes: false }), before);
    // One member's snapshot alone is refused; the group goes as one.
    const alone = await sv('snapshot-delete', 'web', 'nightly');
    assert.deepEqual([alone.code, alone.stderr], [1, 'error: Failed to delete snapshot nightly\n' +
      "error: Requested operation is not valid: snapshot 'nightly' of domain 'web' is a member of group snapshot 'nightly': delete the group with group-snapshot-delete nightly, or this domain's snapshot alone with --force\n"]);
    // Forced, web's snapshot is deleted and leaves the group; db's stays in it.
    const forced = await sv('snapshot-delete', 'web', 'nightly', '--force');
    assert.deepEqual([forced.code, forced.stdout, forced.stderr], [0, 'Domain snapshot nightly deleted\n\n', '']);
    assert.match((await sv('group-snapshot-info', 'nightly')).stdout, /Members: +1\n  db \(/);
    // As snapshot-revert: no message, only the blank line every command ends with.
    const reverted = await sv('group-snapshot-revert', 'nightly');
    assert.deepEqual([reverted.code, reverted.stdout, reverted.stderr], [0, '\n', '']);
    const both = await sv('group-snapshot-revert', 'nightly', '--running', '--paused');
    assert.deepEqual([both.code, both.stderr], [1, "error: invalid argument: Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and " +
      "'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive\n"]);
    const deleted = await sv('group-snapshot-delete', 'nightly');
    assert.deepEqual([deleted.code, deleted.stdout], [0, 'Group snapshot nightly deleted\n\n']);
    assert.equal((await sv('group-snapshot-list', '--name')).code, 1, 'no --name option');
    assert.match((await sv('group-snapshot-list')).stdout, /^ Name +Creation Time +State +Members\n-+\n\n$/);
    for (const name of ['web', 'db']) assert.equal((await sv('snapshot-list', name, '--name')).stdout, '\n');
  } finally {
    await tmp.cleanup();
  }
});
