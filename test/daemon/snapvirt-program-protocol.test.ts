/**
 * snapvirt's own program on the wire, with a bare RPC client against a real snapvirtd:
 * its errors (an unknown procedure or version, its event procedure called as a call, an
 * unknown flag of snapshot-check, deregistering without a registration), and its event
 * messages: a registered client gets DOMAIN_SNAPSHOT_EVENT for its own change before the
 * call's reply; on test:///default (one state per connection) another client does not.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { remoteProcedures as P } from '../../src/rpc/generated/remote-protocol.js';
import { SNAPVIRT_PROGRAM, snapvirtProcedures as S } from '../../src/rpc/generated/snapvirt-protocol.js';
import { decodePayload, MessageType } from '../../src/rpc/message.js';
import { errorOf, RpcTestClient } from '../helpers/rpc-test-client.js';
import { startSnapvirtd, type RunningDaemon } from '../helpers/snapvirtd.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

describe("snapvirt's program on the wire", () => {
  let tmp: TempDir;
  let daemon: RunningDaemon;
  before(async () => {
    tmp = await makeTempDir('snapvirtd-own-');
    daemon = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: join(tmp.path, 'state') });
  });
  after(async () => {
    assert.equal(await daemon.stop(), 0);
    await tmp.cleanup();
  });

  it('answers bad calls of the program with errors and keeps the connection', async () => {
    const c = await RpcTestClient.connect(daemon.socket);
    await c.open('test:///default');
    const unknown = errorOf(await c.rawCall(SNAPVIRT_PROGRAM, 99, Buffer.alloc(0)));
    assert.deepEqual([unknown.code, unknown.domain, unknown.message], [39, 7, 'unknown procedure: 99']);
    const version = errorOf(await c.rawCall(SNAPVIRT_PROGRAM, 1, Buffer.alloc(0), 2));
    assert.deepEqual([version.code, version.message], [39, 'Cannot find program 1397637456 version 2']);
    const event = errorOf(await c.rawCall(SNAPVIRT_PROGRAM, S.SNAPVIRT_PROC_DOMAIN_SNAPSHOT_EVENT.num, Buffer.alloc(0)));
    assert.deepEqual([event.code, event.message], [39, 'SNAPVIRT_PROC_DOMAIN_SNAPSHOT_EVENT is an event, not a call']);
    const { dom } = await c.call(P.REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, { name: 'test' });
    await assert.rejects(c.call(S.SNAPVIRT_PROC_DOMAIN_SNAPSHOT_CHECK, { dom, flags: 6 }, SNAPVIRT_PROGRAM), (err: unknown) => {
      assert.ok(err instanceof Error && 'remote' in err);
      const r = (err as Error & { remote: ReturnType<typeof errorOf> }).remote;
      assert.deepEqual([r.code, r.domain, r.message], [8, 20, 'invalid argument: unsupported flags (0x6) in function virDomainSnapshotCheck']);
      return true;
    });
    await assert.rejects(c.call(S.SNAPVIRT_PROC_CONNECT_SNAPSHOT_EVENT_DEREGISTER, null, SNAPVIRT_PROGRAM),
      /snapshot events are not registered on this connection/);
    const report = await c.call(S.SNAPVIRT_PROC_DOMAIN_SNAPSHOT_CHECK, { dom, flags: 0 }, SNAPVIRT_PROGRAM);
    assert.deepEqual(report, { domain: 'test', repaired: 0, findings: [], consistent: 1 });
    c.end();
  });

  it('sends a registered client its own change before the reply; another test:/// client hears nothing', async () => {
    const a = await RpcTestClient.connect(daemon.socket);
    const b = await RpcTestClient.connect(daemon.socket);
    await a.open('test:///default');
    await b.open('test:///default');
    await a.call(S.SNAPVIRT_PROC_CONNECT_SNAPSHOT_EVENT_REGISTER, null, SNAPVIRT_PROGRAM);
    await b.call(S.SNAPVIRT_PROC_CONNECT_SNAPSHOT_EVENT_REGISTER, null, SNAPVIRT_PROGRAM);
    const { dom } = await a.call(P.REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, { name: 'test' });
    const { snap } = await a.call(P.REMOTE_PROC_DOMAIN_SNAPSHOT_CREATE_XML, { dom, xml_desc: '<domainsnapshot><name>w1</name></domainsnapshot>', flags: 0 });
    await a.call(P.REMOTE_PROC_DOMAIN_SNAPSHOT_DELETE, { snap, flags: 0 });
    const events = a.messages.filter((m) => m.header.prog === SNAPVIRT_PROGRAM);
    assert.deepEqual(events.map((m) => [m.header.type, m.header.proc]), [[MessageType.VIR_NET_MESSAGE, 6], [MessageType.VIR_NET_MESSAGE, 6]]);
    const decoded = events.map((m) => decodePayload(S.SNAPVIRT_PROC_DOMAIN_SNAPSHOT_EVENT.msg, m.payload));
    assert.deepEqual(decoded.map((e) => [e.snap.name, e.snap.dom.name, e.event]), [['w1', 'test', 0], ['w1', 'test', 2]]);
    // b made a call after a's changes: anything for it would have come before its reply.
    await b.call(P.REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, { name: 'test' });
    assert.deepEqual(b.messages.filter((m) => m.header.prog === SNAPVIRT_PROGRAM), []);
    a.end();
    b.end();
  });
});
