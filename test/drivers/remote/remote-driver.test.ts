/**
 * The remote driver against a real snapvirtd (bin/snapvirtd, started here on a socket in a
 * temp dir): the public API through `test+unix://` answers as a local `test:///default`
 * connection does, the daemon's errors arrive with libvirt's code, domain and message as
 * the local ones, a read-only connection is refused what libvirt refuses, and snapshots of
 * `qemu+unix:///session` are made, listed, reverted to and deleted on real qcow2 images
 * (checked with qemu-img and with a local connection to the daemon's state, side by side).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { connect, VirError, type Connection } from '../../../src/index.js';
import { domainXml, makeImages } from '../../helpers/domain-fixture.js';
import { hasPattern, writePattern } from '../../helpers/qemu-io.js';
import { openSessionAt } from '../../helpers/qemu-connection.js';
import { daemonUri, startSnapvirtd, type RunningDaemon } from '../../helpers/snapvirtd.js';
import { makeTempDir, type TempDir } from '../../helpers/temp-dir.js';

const run = promisify(execFile);
const maskTimes = (xml: string): string => xml.replace(/<creationTime>\d+<\/creationTime>/g, '<creationTime>T</creationTime>');

/** What a call gave: its value, or the error's code, domain and message. */
async function outcome<T>(call: () => Promise<T>): Promise<T | { code: number; domain: number; message: string }> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof VirError)) throw err;
    return { code: err.code, domain: err.domain, message: err.message };
  }
}

/** A session of API calls on test:///default's node; returns everything they answered. */
async function testNodeSession(conn: Connection): Promise<unknown[]> {
  const out: unknown[] = [];
  out.push(conn.getType(), conn.getVersion(), conn.getHostname(), conn.isReadOnly());
  const doms = await conn.listAllDomains();
  out.push(doms.map((d) => [d.getName(), d.getUUIDString(), d.getID()]));
  const dom = await conn.domainLookupByName('test');
  out.push((await conn.domainLookupByUUIDString(dom.getUUIDString())).getName(), (await conn.domainLookupByID(1)).getName());
  // The test driver's CPU time is the clock's: it differs between any two calls.
  out.push(await dom.getState(), { ...await dom.getInfo(), cpuTimeNs: 0n }, await dom.getExtraInfo(), await dom.getXMLDesc(), await dom.isActive(), await dom.isPersistent());
  const s1 = await dom.snapshotCreateXML('<domainsnapshot><name>s1</name><description>first</description></domainsnapshot>');
  await dom.snapshotCreateXML('<domainsnapshot><name>s2</name></domainsnapshot>');
  await dom.snapshotCreateXML('<domainsnapshot><name>s3</name></domainsnapshot>');
  out.push((await dom.listAllSnapshots()).map((s) => s.getName()).sort(), await dom.snapshotNum(), await dom.snapshotListNames());
  out.push((await dom.snapshotCurrent()).getName(), await dom.hasCurrentSnapshot());
  out.push(await s1.numChildren(), await s1.numChildren(1), (await s1.listAllChildren()).map((s) => s.getName()));
  const s3 = await dom.snapshotLookupByName('s3');
  out.push((await s3.getParent()).getName(), await s3.isCurrent(), await s1.isCurrent(), await s3.hasMetadata());
  out.push(maskTimes(await s1.getXMLDesc()), (await s1.getDefinition()).description);
  await dom.suspend();
  out.push(await dom.getState());
  await s1.revert();
  out.push(await dom.getState(), (await dom.snapshotCurrent()).getName());
  await (await dom.snapshotLookupByName('s2')).delete(1);
  out.push((await dom.listAllSnapshots()).map((s) => s.getName()));
  const def = await conn.domainDefineXML("<domain type='test'><name>extra</name><memory>1024</memory><os><type>hvm</type></os></domain>");
  out.push(def.getName(), await def.isActive(), (await conn.listAllDomains()).map((d) => d.getName()).sort());
  await def.create();
  out.push(def.getID(), await def.getState());
  await def.destroy();
  await def.undefine();
  out.push((await conn.listAllDomains()).map((d) => d.getName()));
  return out;
}

/** Calls that fail, each on a fresh test:///default node. */
const FAILING: Record<string, (conn: Connection) => Promise<unknown>> = {
  'an unknown domain by name': (c) => c.domainLookupByName('nope'),
  'an unknown domain by UUID': (c) => c.domainLookupByUUIDString('00000000-0000-0000-0000-000000000001'),
  'an unknown domain by id': (c) => c.domainLookupByID(999),
  'an unknown snapshot': async (c) => (await c.domainLookupByName('test')).snapshotLookupByName('nope'),
  'no current snapshot': async (c) => (await c.domainLookupByName('test')).snapshotCurrent(),
  'malformed snapshot XML': async (c) => (await c.domainLookupByName('test')).snapshotCreateXML('<domainsnapshot><name>x</name>'),
  'malformed domain XML': (c) => c.domainDefineXML("<domain type='test'><name>bad</name>"),
  'a flag the driver does not know': async (c) => (await c.domainLookupByName('test')).snapshotCreateXML('<domainsnapshot/>', 1 << 20),
  'flags the API refuses together': async (c) => (await c.domainLookupByName('test')).snapshotCreateXML('<domainsnapshot/>', 0x1 | 0x4),
  'bad revert flags': async (c) => {
    const dom = await c.domainLookupByName('test');
    const snap = await dom.snapshotCreateXML('<domainsnapshot><name>r</name></domainsnapshot>');
    return snap.revert(1 << 12);
  },
  'starting a running domain': async (c) => (await c.domainLookupByName('test')).create(),
  'a QEMU monitor command on the test driver': async (c) => (await c.domainLookupByName('test')).qemuMonitorCommand('{"execute":"query-status"}'),
  'a domain that went away': async (c) => {
    const dom = await c.domainDefineXML("<domain type='test'><name>gone</name><uuid>817524c8-f8d4-7664-80bd-e024f6d42f46</uuid><memory>1024</memory><os><type>hvm</type></os></domain>");
    await dom.undefine();
    return dom.getXMLDesc();
  },
};

describe('the remote driver against a real snapvirtd', () => {
  let tmp: TempDir;
  let daemon: RunningDaemon;
  let stateDir: string;
  before(async () => {
    tmp = await makeTempDir('snapvirt-remote-');
    stateDir = join(tmp.path, 'state');
    daemon = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: stateDir });
  });
  after(async () => {
    await daemon.stop();
    await tmp.cleanup();
  });

  it('answers the public API through test+unix:// exactly as a local test:///default connection', async () => {
    const local = await connect('test:///default');
    const remote = await connect(daemonUri('test:///default', daemon.socket));
    try {
      assert.deepEqual(await testNodeSession(remote), await testNodeSession(local));
      assert.equal(remote.getURI(), daemonUri('test:///default', daemon.socket));
    } finally {
      await local.close();
      await remote.close();
    }
  });

  for (const [what, call] of Object.entries(FAILING)) {
    it(`brings ${what} across the wire with the local error's code, domain and message`, async () => {
      const local = await connect('test:///default');
      const remote = await connect(daemonUri('test:///default', daemon.socket));
      try {
        const [l, r] = [await outcome(() => call(local)), await outcome(() => call(remote))];
        assert.ok(typeof l === 'object' && l !== null && 'code' in l, `${what} must fail locally`);
        assert.deepEqual(r, l);
      } finally {
        await local.close();
        await remote.close();
      }
    });
  }

  it('will not have the daemon open a remote URI itself (it would run ssh, or command=, as the daemon)', async () => {
    const marker = join(tmp.path, 'ran');
    const program = join(tmp.path, 'not-ssh');
    await writeFile(program, `#!/bin/sh\ntouch '${marker}'\n`);
    await chmod(program, 0o755);
    for (const name of [`test+ssh://127.0.0.1/default?socket=/nonexistent&command=${program}`, ` TEST+S\tSH://127.0.0.1/default?socket=/x&command=${program}`]) {
      const refused = await outcome(() => connect(`test+unix:///default?socket=${daemon.roSocket}&name=${encodeURIComponent(name)}`));
      assert.deepEqual(refused, { code: 5, domain: 0, message: `no connection driver available for ${name}` });
    }
    assert.ok(!existsSync(marker), 'the daemon ran the command');
  });

  it("answers snapvirt's own calls through snapvirt's program, with what the local test driver answers", async () => {
    const remote = await connect(daemonUri('test:///default', daemon.socket));
    const local = await connect('test:///default');
    try {
      const [dom, localDom] = [await remote.domainLookupByName('test'), await local.domainLookupByName('test')];
      const snap = await dom.snapshotCreateXML('<domainsnapshot><name>own</name></domainsnapshot>');
      const localSnap = await localDom.snapshotCreateXML('<domainsnapshot><name>own</name></domainsnapshot>');
      const report = await dom.checkSnapshots();
      assert.deepEqual(report, { domain: 'test', repaired: false, findings: [], consistent: true });
      assert.deepEqual(report, await localDom.checkSnapshots());
      assert.deepEqual(await outcome(() => snap.getQuiesceInfo()),
        { code: 3, domain: 35, message: 'this function is not supported by the connection driver: snapshotGetQuiesceInfo' });
      assert.deepEqual(await outcome(() => snap.getQuiesceInfo()), await outcome(() => localSnap.getQuiesceInfo()));
      const disks = (await dom.getDefinition()).disks;
      assert.deepEqual([disks[0]!.chain, disks[0]!.chainOrigin], [[{ path: '/guest/diskimage1', format: 'raw' }], 'definition']);
      assert.deepEqual(disks, (await localDom.getDefinition()).disks);
    } finally {
      await remote.close();
      await local.close();
    }
  });

  it("refuses arguments past the protocol's limits before sending them, as libvirt's client does, and goes on", async () => {
    const remote = await connect(daemonUri('test:///default', daemon.socket));
    try {
      const dom = await remote.domainLookupByName('test');
      const huge = `<domainsnapshot><description>${'x'.repeat(4 << 20)}</description></domainsnapshot>`;
      assert.deepEqual(await outcome(() => dom.snapshotCreateXML(huge)), { code: 39, domain: 7, message: 'Unable to encode message payload' });
      assert.equal(await dom.snapshotNum(), 0);
    } finally {
      await remote.close();
    }
  });

  it('refuses mutating calls on a read-only connection and on the read-only socket, as libvirt does', async () => {
    const uri = daemonUri('test:///default', daemon.socket);
    for (const conn of [await connect(uri, { readOnly: true }), await connect(daemonUri('test:///default', daemon.roSocket))]) {
      try {
        const dom = await conn.domainLookupByName('test');
        const refused = await outcome(() => dom.snapshotCreateXML('<domainsnapshot/>'));
        assert.deepEqual(refused, { code: 29, domain: 20, message: 'operation forbidden: read only access prevents virDomainSnapshotCreateXML' });
        assert.equal((await dom.listAllSnapshots()).length, 0);
      } finally {
        await conn.close();
      }
    }
  });

  it('makes, lists, reverts to and deletes snapshots of qemu:///session on real qcow2 images through the daemon', async () => {
    const images = join(tmp.path, 'images');
    await mkdir(images);
    const disks = await makeImages(images, 'vm', ['qcow2', 'qcow2']);
    const remote = await connect(daemonUri('qemu:///session', daemon.socket));
    try {
      assert.equal(remote.getType(), 'QEMU');
      const dom = await remote.domainDefineXML(domainXml('vm', disks));
      await writePattern(disks[0]!.path, 'qcow2', 0x11, 0, 65536);
      const internal = await dom.snapshotCreateXML('<domainsnapshot><name>before</name></domainsnapshot>', 0x80);
      const tags = await run('qemu-img', ['snapshot', '-l', disks[1]!.path]);
      assert.match(tags.stdout, /\bbefore\b/);
      await writePattern(disks[0]!.path, 'qcow2', 0x22, 0, 65536);
      await internal.revert();
      assert.ok(await hasPattern(disks[0]!.path, 'qcow2', 0x11, 0, 65536), 'the revert gave back the snapshot\'s data');

      const external = await dom.snapshotCreateXML("<domainsnapshot><name>ext</name><disks><disk name='vda' snapshot='external'/><disk name='vdb' snapshot='no'/></disks></domainsnapshot>", 0x10 | 0x80);
      const overlay = (await dom.getDefinition()).disks[0]!.source!;
      assert.notEqual(overlay, disks[0]!.path);
      assert.ok(existsSync(overlay));
      assert.deepEqual((await dom.listAllSnapshots()).map((s) => s.getName()).sort(), ['before', 'ext']);

      // The library on the same host, side by side with the daemon, sees what the daemon made.
      const local = await openSessionAt(stateDir);
      try {
        const seen = await local.domainLookupByName('vm');
        assert.deepEqual((await seen.listAllSnapshots()).map((s) => s.getName()).sort(), ['before', 'ext']);
        assert.equal(await (await seen.snapshotCurrent()).getXMLDesc(), await external.getXMLDesc());
      } finally {
        await local.close();
      }

      await external.delete();
      assert.equal((await dom.getDefinition()).disks[0]!.source, disks[0]!.path);
      assert.ok(!existsSync(overlay), 'the merged overlay is gone');
      await internal.delete();
      assert.doesNotMatch((await run('qemu-img', ['snapshot', '-l', disks[1]!.path])).stdout, /\bbefore\b/);
      assert.equal(await dom.snapshotNum(), 0);
      await dom.undefine();
    } finally {
      await remote.close();
    }
  });
});
