/**
 * snapvirt's remote driver as a client of a real libvirtd 9.0 (a private one, started and
 * put back by test/helpers/private-libvirtd.ts): the protocol is libvirt's own, so
 * `snapvirt -c 'test+unix:///default?socket=…'` and `… qemu+unix:///system?socket=…` print
 * what virsh prints against the same daemon (stdout, stderr, exit status; creation times
 * masked), errors included, and the library gets libvirtd's error codes and domains.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, VirError } from '../../../src/index.js';
import { startQemuOracle, type QemuOracle } from '../../helpers/private-libvirtd.js';
import { snapvirtCommand, virshCommand, type Outcome } from '../../helpers/run-command.js';
import { makeTempDir, type TempDir } from '../../helpers/temp-dir.js';

const mask = (o: Outcome): Outcome => ({
  ...o,
  stdout: o.stdout.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}/g, 'TIME').replace(/<creationTime>\d+<\/creationTime>/g, '<creationTime>T</creationTime>')
    // The test driver's CPU time is the clock's.
    .replace(/^CPU time: .*$/m, 'CPU time: T'),
});

/** Batches on libvirtd's test node (each client's node is fresh once the last one closed). */
const TEST_BATCHES = [
  'snapshot-create-as test s1 "first"; snapshot-create-as test s2; snapshot-list test --tree; snapshot-list test --parent; snapshot-info test s1',
  'snapshot-create-as test s1; snapshot-dumpxml test s1; snapshot-revert test s1; domstate test --reason; snapshot-delete test s1',
  'dominfo test; list --all; domblklist test',
  'snapshot-revert test nope',
  'snapshot-create-as test bad --redefine --halt',
  'snapshot-dumpxml nodomain s1',
];

describe('the remote driver against a real libvirtd', () => {
  let tmp: TempDir;
  let oracle: QemuOracle;
  let socket: string;
  before(async () => {
    tmp = await makeTempDir('snapvirt-remote-libvirtd-');
    oracle = await startQemuOracle(join(tmp.path, 'daemon'), join(tmp.path, 'state'));
    socket = new URL(oracle.daemon.uri).searchParams.get('socket') ?? '';
    assert.ok(socket !== '');
  });
  after(async () => {
    await oracle?.stop();
    await tmp?.cleanup();
  });

  for (const batch of TEST_BATCHES) {
    it(`prints what virsh prints through libvirtd's test driver: ${batch}`, async () => {
      const uri = `test+unix:///default?socket=${socket}`;
      const v = mask(await virshCommand(['-c', uri, batch]));
      const s = mask(await snapvirtCommand(['-c', uri, batch]));
      assert.deepEqual(s, v);
    });
  }

  it("prints what virsh prints through libvirtd's qemu driver", async () => {
    const uri = `qemu+unix:///system?socket=${socket}`;
    for (const batch of ['list --all; uri; version', 'dominfo nope', 'snapshot-list nope']) {
      assert.deepEqual(await snapvirtCommand(['-c', uri, batch]), await virshCommand(['-c', uri, batch]), batch);
    }
  });

  it("gives the library libvirtd's errors: code, domain and message", async () => {
    const conn = await connect(`test+unix:///default?socket=${socket}`);
    try {
      assert.equal(conn.getType(), 'TEST');
      const dom = await conn.domainLookupByName('test');
      await assert.rejects(dom.snapshotLookupByName('nope'), (err: unknown) => {
        assert.ok(err instanceof VirError);
        assert.deepEqual([err.code, err.domain, err.message], [72, 12, "Domain snapshot not found: no domain snapshot with matching name 'nope'"]);
        return true;
      });
      await assert.rejects(conn.domainLookupByName('nope'), (err: unknown) => {
        assert.ok(err instanceof VirError);
        assert.deepEqual([err.code, err.domain], [42, 12]);
        return true;
      });
    } finally {
      await conn.close();
    }
  });

  it("snapvirt's own calls and events against libvirtd (no snapvirt program): VIR_ERR_NO_SUPPORT saying why, the connection kept", async () => {
    const uri = `test+unix:///default?socket=${socket}`;
    const conn = await connect(uri);
    try {
      const dom = await conn.domainLookupByName('test');
      const why = "(the daemon is not snapvirtd: it answered snapvirt's own RPC program with 'Cannot find program 1397637456 version 1')";
      await assert.rejects(dom.checkSnapshots(), (err: unknown) => {
        assert.ok(err instanceof VirError);
        assert.deepEqual([err.code, err.domain, err.message], [3, 13, `this function is not supported by the connection driver: virDomainSnapshotCheck ${why}`]);
        return true;
      });
      const snap = await dom.snapshotCreateXML('<domainsnapshot><name>q</name></domainsnapshot>');
      await assert.rejects(snap.getQuiesceInfo(), (err: unknown) => {
        assert.ok(err instanceof VirError);
        assert.deepEqual([err.code, err.domain, err.message], [3, 13, `this function is not supported by the connection driver: snapshotGetQuiesceInfo ${why}`]);
        return true;
      });
      // The chains fall back to the definition's source, with a note saying why.
      const def = await dom.getDefinition();
      assert.ok(def.disks.length > 0);
      for (const d of def.disks) {
        assert.equal(d.chainOrigin, 'definition');
        assert.match(d.chainNote ?? '', /daemon that is not snapvirtd/);
      }
      // Snapshot events: the registration's refusal goes to 'error' listeners.
      const refused = new Promise<Error>((resolve) => conn.once('error', resolve));
      conn.on('snapshot', () => assert.fail('libvirtd sends no snapshot events'));
      const err = await refused;
      assert.ok(err instanceof VirError);
      assert.equal(err.code, 3);
      await conn.snapshotEventsReady();
      // Still connected and usable.
      await snap.delete();
      assert.equal((await conn.listAllDomains()).length, 1);
    } finally {
      await conn.close();
    }
    // The CLI: the same error, exit status 1.
    const out = await snapvirtCommand(['-c', uri, 'snapshot-check test']);
    assert.equal(out.code, 1);
    assert.equal(out.stderr, `error: this function is not supported by the connection driver: virDomainSnapshotCheck ${"(the daemon is not snapvirtd: it answered snapvirt's own RPC program with 'Cannot find program 1397637456 version 1')"}\n`);
  });
});
