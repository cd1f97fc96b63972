/**
 * import-libvirt against a real private libvirtd 9.0 with its QEMU driver
 * (test/helpers/private-libvirtd.ts): a shut-off domain given an internal snapshot and then
 * an external disk-only one by libvirt itself is imported through bin/snapvirt; snapvirt's
 * snapshot-list, snapshot-current and snapshot-dumpxml then print what libvirt's do, and
 * reverts through snapvirt give back each snapshot's data. Refusals (running in libvirt,
 * name and UUID clashes, unknown domain, unreadable libvirt) change nothing, and a redefine
 * failing midway (libvirt's answer for one snapshot altered by a virsh wrapper on PATH)
 * leaves nothing imported. Domains in libvirt carry ORACLE_DOMAIN_PREFIX, so stop() removes them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { domainXml } from '../helpers/domain-fixture.js';
import { hasPattern, writePattern } from '../helpers/qemu-io.js';
import { killQemusUnder } from '../helpers/kill-qemus.js';
import { openSessionAt } from '../helpers/qemu-connection.js';
import { ORACLE_DOMAIN_PREFIX, startQemuOracle, type QemuOracle } from '../helpers/private-libvirtd.js';
import { importLibvirtDomain } from '../../src/import/import-libvirt.js';
import { isVirError, VirErrorCode } from '../../src/api/errors.js';

const run = promisify(execFile);
const D = `${ORACLE_DOMAIN_PREFIX}import`;
const UUID = '3c2b1a09-8f7e-4d6c-9b5a-4c3b2a190807';
/** A second libvirt domain, for the running and UUID refusals. */
const B = `${ORACLE_DOMAIN_PREFIX}import-b`;
const UUID_B = '4d3c2b1a-0f9e-4e7d-8c6b-5d4c3b2a1908';
const KiB64 = 64 << 10;

let tmp: TempDir;
let oracle: QemuOracle;
let stateDir: string;
let img: string;

async function ok(side: 'virsh' | 'snapvirt', commands: string): Promise<string> {
  const out = await oracle[side](commands);
  assert.equal(out.code, 0, `${side} ${commands}: ${out.stderr}`);
  return out.stdout;
}

/** The source of vda in snapvirt's definition of D. */
async function snapvirtDisk(): Promise<string> {
  const line = (await ok('snapvirt', `domblklist ${D}`)).split('\n').find((l) => l.trim().startsWith('vda'));
  assert.ok(line, 'vda in domblklist');
  return line.trim().split(/\s+/)[1]!;
}

describe('import-libvirt from a real libvirtd', { concurrency: false }, () => {
  before(async () => {
    tmp = await makeTempDir('snapvirt-import-');
    stateDir = join(tmp.path, 'state');
    img = join(tmp.path, 'img');
    await mkdir(img, { recursive: true });
    oracle = await startQemuOracle(join(tmp.path, 'daemon'), stateDir);
    const base = join(img, 'base.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', base, '1M']);
    await writePattern(base, 'qcow2', 0x11, 0, KiB64);
    await writeFile(join(img, 'd.xml'), domainXml(D, [{ target: 'vda', path: base, format: 'qcow2' }], UUID));
    await ok('virsh', `define ${join(img, 'd.xml')}; snapshot-create-as ${D} s1 --description first`);
    await writePattern(base, 'qcow2', 0x22, 0, KiB64);
    await ok('virsh', `snapshot-create-as ${D} s2 --disk-only --diskspec vda,file=${join(img, 's2.qcow2')}`);
    // After s2 libvirt's domain writes into the overlay: today's data, in no snapshot.
    await writePattern(join(img, 's2.qcow2'), 'qcow2', 0x33, 0, KiB64);
    const other = join(img, 'b.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', other, '1M']);
    await writeFile(join(img, 'b.xml'), domainXml(B, [{ target: 'vda', path: other, format: 'qcow2' }], UUID_B));
    await ok('virsh', `define ${join(img, 'b.xml')}`);
  });
  after(async () => {
    await killQemusUnder(stateDir).catch(() => undefined);
    await oracle?.stop();
    await tmp?.cleanup();
  });

  it('a redefine failing midway undefines what was imported', async () => {
    // A virsh that answers s2's snapshot-dumpxml with a name snapvirt refuses ('/'): the
    // domain and s1 are in by then.
    const wrapDir = join(tmp.path, 'wrap');
    await mkdir(wrapDir);
    const realVirsh = (await run('sh', ['-c', 'command -v virsh'])).stdout.trim();
    await writeFile(join(wrapDir, 'virsh'), `#!/bin/sh
if [ "$4" = snapshot-dumpxml ] && [ "$7" = s2 ]; then
  "${realVirsh}" "$@" | sed 's#<name>s2</name>#<name>s2/bad</name>#'
  exit 0
fi
exec "${realVirsh}" "$@"
`);
    await chmod(join(wrapDir, 'virsh'), 0o755);
    const conn = await openSessionAt(stateDir);
    const savedPath = process.env.PATH;
    process.env.PATH = `${wrapDir}:${savedPath ?? ''}`;
    try {
      await assert.rejects(importLibvirtDomain(conn, D, { uri: oracle.daemon.uri }), (err: unknown) =>
        isVirError(err, VirErrorCode.XML_DETAIL) && /invalid snapshot name 's2\/bad'/.test(err.message));
      await assert.rejects(conn.domainLookupByName(D), (err: unknown) => isVirError(err, VirErrorCode.NO_DOMAIN));
      assert.deepEqual(await conn.listAllDomains(), []);
    } finally {
      process.env.PATH = savedPath;
      await conn.close();
    }
  });

  it('imports the domain and both snapshots: listings, current and XML agree with libvirt', async () => {
    const out = await oracle.snapvirt(`import-libvirt ${D} --uri ${oracle.daemon.uri}`);
    assert.deepEqual(out, {
      stdout: `Domain '${D}' imported from ${oracle.daemon.uri} with 2 snapshots, current snapshot s2\n\n`, stderr: '', code: 0,
    });
    const compare = [
      `snapshot-list ${D}`, `snapshot-list ${D} --tree`, `snapshot-list ${D} --parent --internal`, `snapshot-list ${D} --external --name`,
      `snapshot-current ${D} --name`, `snapshot-dumpxml ${D} s1`, `snapshot-dumpxml ${D} s2`, `snapshot-parent ${D} s2`,
      `domblklist ${D}`,
    ];
    for (const cmd of compare) assert.equal(await ok('snapvirt', cmd), await ok('virsh', cmd), cmd);
  });

  it('reverts through snapvirt to the imported internal and external snapshots', async () => {
    assert.ok(await hasPattern(await snapvirtDisk(), 'qcow2', 0x33, 0, KiB64), 'today\'s data before any revert');
    await ok('snapvirt', `snapshot-revert ${D} s1`);
    assert.ok(await hasPattern(await snapvirtDisk(), 'qcow2', 0x11, 0, KiB64), 's1\'s data after reverting to s1');
    assert.equal((await ok('snapvirt', `snapshot-current ${D} --name`)).trim(), 's1');
    await ok('snapvirt', `snapshot-revert ${D} s2`);
    assert.ok(await hasPattern(await snapvirtDisk(), 'qcow2', 0x22, 0, KiB64), 's2\'s data after reverting to s2');
    assert.equal((await ok('snapvirt', `snapshot-current ${D} --name`)).trim(), 's2');
  });

  it('refuses a name snapvirt already has, changing nothing', async () => {
    const before = await ok('snapvirt', `snapshot-list ${D} --tree; snapshot-current ${D} --name`);
    const out = await oracle.snapvirt(`import-libvirt ${D} --uri ${oracle.daemon.uri}`);
    assert.deepEqual(out, { stdout: '\n', stderr: `error: operation failed: domain '${D}' already exists with uuid ${UUID}\n`, code: 1 });
    assert.equal(await ok('snapvirt', `snapshot-list ${D} --tree; snapshot-current ${D} --name`), before);
  });

  it('refuses a domain libvirt runs', async () => {
    await ok('virsh', `start ${B}`);
    try {
      const out = await oracle.snapvirt(`import-libvirt ${B} --uri ${oracle.daemon.uri}`);
      assert.deepEqual(out, {
        stdout: '\n',
        stderr: `error: Requested operation is not valid: domain '${B}' is running in libvirt (${oracle.daemon.uri}); shut it off there before importing it\n`,
        code: 1,
      });
    } finally {
      await ok('virsh', `destroy ${B}`);
    }
    assert.equal((await ok('snapvirt', 'list --all --name')).trim(), D);
  });

  it('refuses a domain libvirt keeps a managed save image of', async () => {
    await ok('virsh', `start ${B}; managedsave ${B}`);
    try {
      assert.match(await ok('virsh', `dominfo ${B}`), /^Managed save:\s+yes$/m);
      const out = await oracle.snapvirt(`import-libvirt ${B} --uri ${oracle.daemon.uri}`);
      assert.deepEqual(out, {
        stdout: '\n',
        stderr: `error: Requested operation is not valid: domain '${B}' has a managed save image in libvirt (${oracle.daemon.uri}), `
          + 'which snapvirt cannot take over; start and shut it down there, or drop the image with virsh managedsave-remove, before importing it\n',
        code: 1,
      });
    } finally {
      await ok('virsh', `managedsave-remove ${B}`);
    }
    assert.equal((await ok('snapvirt', 'list --all --name')).trim(), D);
  });

  it('refuses a UUID snapvirt already has under another name', async () => {
    const xml = join(img, 'clash.xml');
    await writeFile(xml, domainXml('clash', [{ target: 'vda', path: join(img, 'b.qcow2'), format: 'qcow2' }], UUID_B));
    await ok('snapvirt', `define ${xml}`);
    const out = await oracle.snapvirt(`import-libvirt ${B} --uri ${oracle.daemon.uri}`);
    assert.deepEqual(out, { stdout: '\n', stderr: `error: operation failed: domain 'clash' is already defined with uuid ${UUID_B}\n`, code: 1 });
    await ok('snapvirt', 'undefine clash');
    assert.equal((await ok('snapvirt', 'list --all --name')).trim(), D);
  });

  it('refuses a domain libvirt does not have, and a libvirt virsh cannot reach', async () => {
    const unknown = await oracle.snapvirt(`import-libvirt nosuch --uri ${oracle.daemon.uri}`);
    assert.deepEqual(unknown, {
      stdout: '\n', stderr: `error: Domain not found: no domain with matching name 'nosuch' in libvirt (${oracle.daemon.uri})\n`, code: 1,
    });
    const badUri = `qemu:///system?socket=${join(tmp.path, 'no-such-socket')}`;
    const unreachable = await oracle.snapvirt(`import-libvirt ${B} --uri ${badUri}`);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr,
      new RegExp(`^error: operation failed: cannot read domain '${B}' from libvirt \\(${badUri.replace(/[?]/g, '\\?')}\\): virsh domstate ${B}: failed to connect to the hypervisor`));
    assert.equal((await ok('snapvirt', 'list --all --name')).trim(), D);
  });

  it('imports a domain with a checkpoint and names the checkpoint as not imported', async (t) => {
    // libvirt 9.0 makes checkpoints of running domains only.
    await ok('virsh', `start ${B}; checkpoint-create-as ${B} cp1; destroy ${B}`);
    // libvirt's undefine (the daemon's stop) refuses a domain with checkpoint metadata.
    t.after(() => oracle.virsh(`checkpoint-delete ${B} cp1 --metadata`));
    const out = await oracle.snapvirt(`import-libvirt ${B} --uri ${oracle.daemon.uri}`);
    assert.deepEqual(out, {
      stdout: `Domain '${B}' imported from ${oracle.daemon.uri} with 0 snapshots\n`
        + 'Not imported: checkpoints cp1 (snapvirt has no checkpoints; libvirt keeps their bitmaps in the images)\n\n',
      stderr: '', code: 0,
    });
    assert.equal(await ok('snapvirt', `domblklist ${B}`), await ok('virsh', `domblklist ${B}`));
  });
});
