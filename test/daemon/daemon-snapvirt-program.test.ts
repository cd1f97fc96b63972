/**
 * snapvirt's own RPC program through a real snapvirtd, on qemu:///session with real qcow2
 * images (qemu-img): snapshot-check (and --repair), a snapshot's freeze record and the
 * disks' backing chains give a remote connection what a local one on the same state
 * directory gets, errors included, offline and with the domain running in a real QEMU; `snapvirt -c qemu+unix://…` prints what
 * `snapvirt -c qemu:///session` prints; and snapshot events reach every registered client
 * of the daemon, whichever client made the change.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, SnapshotCreateFlags, VirError, type Connection, type SnapshotEvent } from '../../src/index.js';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';
import { openSessionAt } from '../helpers/qemu-connection.js';
import { snapvirtCommand } from '../helpers/run-command.js';
import { startSnapvirtd, type RunningDaemon } from '../helpers/snapvirtd.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

const DISK_ONLY = '<domainsnapshot><name>NAME</name><disks><disk name="vda" snapshot="external"/><disk name="vdb" snapshot="external"/></disks></domainsnapshot>';
const snapXml = (name: string): string => DISK_ONLY.replace('NAME', name);

/** [code, domain, message] of what `p` rejects with. */
async function failure(p: Promise<unknown>): Promise<[number, number, string]> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof VirError, String(err));
    return [err.code, err.domain, err.message];
  }
  assert.fail('it did not fail');
}

type Seen = [kind: string, domain: string, snapshot: string];
function record(conn: Connection): Seen[] {
  const seen: Seen[] = [];
  conn.on('snapshot', (e: SnapshotEvent) => seen.push([e.kind, e.domain.getName(), e.snapshot]));
  return seen;
}

describe("snapvirt's own program through snapvirtd", () => {
  let tmp: TempDir;
  let daemon: RunningDaemon;
  let stateDir: string;
  let local: Connection;
  let remote: Connection;
  let remoteUri: string;

  before(async () => {
    tmp = await makeTempDir('snapvirtd-program-');
    stateDir = join(tmp.path, 'state');
    const imageDir = join(tmp.path, 'images');
    await mkdir(imageDir);
    daemon = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: stateDir });
    remoteUri = `qemu+unix:///session?socket=${daemon.socket}`;
    local = await openSessionAt(stateDir);
    remote = await connect(remoteUri);
    const dom = await local.domainDefineXML(domainXml('vm', await makeImages(imageDir, 'vm', ['qcow2', 'qcow2'])));
    await dom.snapshotCreateXML(snapXml('d1'), SnapshotCreateFlags.DISK_ONLY);
  });
  after(async () => {
    await remote?.close();
    await local?.close();
    assert.equal(await daemon.stop(), 0);
    await tmp.cleanup();
  });

  it('getDefinition(): every disk has the backing chain read from the images, as locally', async () => {
    const l = await (await local.domainLookupByName('vm')).getDefinition();
    const r = await (await remote.domainLookupByName('vm')).getDefinition();
    assert.equal(l.disks[0].chain?.length, 2);
    assert.equal(l.disks[0].chainOrigin, 'images');
    assert.deepEqual(r.disks, l.disks);
  });

  it('getQuiesceInfo() and snapshot-info\'s Quiesced line, as locally', async () => {
    const l = await (await (await local.domainLookupByName('vm')).snapshotLookupByName('d1')).getQuiesceInfo();
    const r = await (await (await remote.domainLookupByName('vm')).snapshotLookupByName('d1')).getQuiesceInfo();
    assert.deepEqual(r, { quiesced: false, frozenFilesystems: null });
    assert.deepEqual(r, l);
    const viaDaemon = await snapvirtCommand(['-c', remoteUri, 'snapshot-info vm d1']);
    const direct = await snapvirtCommand(['-c', 'qemu:///session', 'snapshot-info vm d1'], { SNAPVIRT_STATE_DIR: stateDir });
    assert.match(viaDaemon.stdout, /^Quiesced: +no$/m);
    assert.deepEqual(viaDaemon, direct);
  });

  it('snapshot-check and --repair: the same report, output and exit status as locally', async () => {
    const overlay = (await (await local.domainLookupByName('vm')).getDefinition()).disks[1].source;
    assert.ok(overlay);
    await chmod(overlay, 0o644);
    try {
      const l = await (await local.domainLookupByName('vm')).checkSnapshots();
      const r = await (await remote.domainLookupByName('vm')).checkSnapshots();
      assert.ok(r.findings.some((f) => f.kind === 'file-mode' && f.subject === overlay), JSON.stringify(r));
      assert.deepEqual(r, l);
      const lr = await (await local.domainLookupByName('vm')).checkSnapshots({ repair: true });
      const rr = await (await remote.domainLookupByName('vm')).checkSnapshots({ repair: true });
      assert.ok(rr.findings.every((f) => f.repair !== undefined), JSON.stringify(rr));
      assert.deepEqual(rr, lr);
      for (const cmd of ['snapshot-check vm', 'snapshot-check vm --repair', 'snapshot-check nope']) {
        const viaDaemon = await snapvirtCommand(['-c', remoteUri, cmd]);
        const direct = await snapvirtCommand(['-c', 'qemu:///session', cmd], { SNAPVIRT_STATE_DIR: stateDir });
        assert.equal(viaDaemon.code, 1, cmd);
        assert.deepEqual(viaDaemon, direct, cmd);
      }
    } finally {
      await chmod(overlay, 0o600);
    }
    assert.equal((await (await remote.domainLookupByName('vm')).checkSnapshots()).consistent, true);
  });

  it("errors: an unknown domain as locally; --repair on the read-only socket with libvirt's read-only refusal", async () => {
    const gone = { name: 'nope', uuid: '00000000-0000-4000-8000-000000000001', id: -1 };
    const { Domain } = await import('../../src/api/domain.js');
    assert.deepEqual(await failure(Domain.of(remote, gone).checkSnapshots()), await failure(Domain.of(local, gone).checkSnapshots()));
    await using ro = await connect(`qemu+unix:///session?socket=${daemon.roSocket}`);
    const [code, domain, message] = await failure((await ro.domainLookupByName('vm')).checkSnapshots({ repair: true }));
    assert.deepEqual([code, domain, message], [29, 20, 'operation forbidden: read only access prevents virDomainSnapshotCheck']);
    // A plain check is allowed read-only.
    assert.equal((await (await ro.domainLookupByName('vm')).checkSnapshots()).consistent, true);
  });

  it('a running domain (real QEMU, started through the daemon): chains read from QEMU and the check of its block graph, as locally', async () => {
    const dom = await remote.domainLookupByName('vm');
    await dom.create();
    try {
      const r = await dom.getDefinition();
      const l = await (await local.domainLookupByName('vm')).getDefinition();
      assert.equal(r.disks[0].chainOrigin, 'qemu');
      assert.deepEqual(r.disks, l.disks);
      const report = await dom.checkSnapshots();
      assert.deepEqual(report, await (await local.domainLookupByName('vm')).checkSnapshots());
      assert.equal(report.consistent, true, JSON.stringify(report));
    } finally {
      await dom.destroy();
    }
  });

  it('snapshot events: every registered client hears every client\'s changes; a deregistered one stops', async () => {
    await using a = await connect(remoteUri);
    await using b = await connect(remoteUri);
    await using c = await connect(remoteUri);
    const seenA = record(a);
    const seenB = record(b);
    await Promise.all([a.snapshotEventsReady(), b.snapshotEventsReady()]);
    // c registers nothing: it hears nothing, and its changes still reach a and b.
    const dom = await c.domainLookupByName('vm');
    const e1 = await dom.snapshotCreateXML(snapXml('e1'), SnapshotCreateFlags.DISK_ONLY);
    const bDom = await b.domainLookupByName('vm');
    await (await bDom.snapshotLookupByName('e1')).revert();
    // b's own change reached b before its call returned.
    assert.deepEqual(seenB.at(-1), ['reverted', 'vm', 'e1']);
    // Every listener removed (Node's removeAllListeners() without a name): a deregisters.
    a.removeAllListeners();
    await a.snapshotEventsReady();
    const e2 = await dom.snapshotCreateXML(snapXml('e2'), SnapshotCreateFlags.DISK_ONLY);
    // A listener added again registers again.
    const seenA2 = record(a);
    await a.snapshotEventsReady();
    await e2.delete();
    await e1.delete();
    // The deletes' events came before c's replies; b's and a's sockets may be later than c's: one more round trip on each, whose reply comes after them.
    await bDom.isActive();
    await (await a.domainLookupByName('vm')).isActive();
    assert.deepEqual(seenB, [['created', 'vm', 'e1'], ['reverted', 'vm', 'e1'], ['created', 'vm', 'e2'], ['deleted', 'vm', 'e2'], ['deleted', 'vm', 'e1']]);
    assert.deepEqual(seenA, [['created', 'vm', 'e1'], ['reverted', 'vm', 'e1']]);
    assert.deepEqual(seenA2, [['deleted', 'vm', 'e2'], ['deleted', 'vm', 'e1']]);
  });
});
