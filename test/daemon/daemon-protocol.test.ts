/**
 * snapvirtd's protocol behaviour with a bare client (test/helpers/rpc-test-client.ts):
 * libvirtd's errors for unknown programs and procedures and for arguments that do not
 * decode (the connection stays open), keepalive, calls before CONNECT_OPEN, pipelined
 * calls, and bad packets (an oversized or undersized length, a header that does not
 * decode, a reply sent by a client, random bytes): that connection is closed with one log
 * line and every other client is served on.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { remoteProcedures as P, REMOTE_PROGRAM } from '../../src/rpc/generated/remote-protocol.js';
import { KEEPALIVE_PROGRAM } from '../../src/rpc/generated/keepalive-protocol.js';
import { encodeFrame } from '../../src/rpc/message.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';
import { startSnapvirtd, type RunningDaemon } from '../helpers/snapvirtd.js';
import { errorOf, RpcTestClient } from '../helpers/rpc-test-client.js';

describe('snapvirtd protocol', () => {
  let tmp: TempDir;
  let daemon: RunningDaemon;
  /** A client open on test:///default for the whole file: it must survive every other client's bad packets. */
  let bystander: RpcTestClient;
  before(async () => {
    tmp = await makeTempDir('snapvirtd-proto-');
    daemon = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: join(tmp.path, 'state') });
    bystander = await RpcTestClient.connect(daemon.socket);
    await bystander.open('test:///default');
  });
  after(async () => {
    bystander.end();
    assert.equal(await daemon.stop(), 0);
    await tmp.cleanup();
  });

  const stillServes = async (): Promise<void> => {
    const { domains } = await bystander.call(P.REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags: 0 });
    assert.deepEqual(domains.map((d) => d.name), ['test']);
  };

  it('answers AUTH_LIST with auth none and opens the driver the URI names', async () => {
    const c = await RpcTestClient.connect(daemon.socket);
    assert.deepEqual(await c.call(P.REMOTE_PROC_AUTH_LIST, null), { types: [0] });
    await c.call(P.REMOTE_PROC_CONNECT_OPEN, { name: 'test:///default', flags: 0 });
    assert.deepEqual(await c.call(P.REMOTE_PROC_CONNECT_GET_TYPE, null), { type: 'TEST' });
    assert.deepEqual(await c.call(P.REMOTE_PROC_CONNECT_GET_URI, null), { uri: 'test:///default' });
    assert.deepEqual(await c.call(P.REMOTE_PROC_CONNECT_GET_LIB_VERSION, null), { lib_ver: 9000000n });
    await assert.rejects(c.call(P.REMOTE_PROC_CONNECT_OPEN, { name: 'test:///default', flags: 0 }), /internal error: connection already open/);
    await c.call(P.REMOTE_PROC_CONNECT_CLOSE, null);
    c.end();
  });

  it('refuses a URI no driver serves with libvirt\'s error, and calls before CONNECT_OPEN', async () => {
    const c = await RpcTestClient.connect(daemon.socket);
    await assert.rejects(c.call(P.REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS, { need_results: 1, flags: 0 }), /^Error: internal error: connection not open$/);
    await assert.rejects(c.call(P.REMOTE_PROC_CONNECT_OPEN, { name: 'xen:///system', flags: 0 }), /^Error: no connection driver available for xen:\/\/\/system$/);
    await c.call(P.REMOTE_PROC_CONNECT_OPEN, { name: 'test:///default', flags: 0 });
    c.end();
  });

  it('answers what libvirtd 9.0 answers for an unknown procedure, program or version, and an unserved procedure, and stays open', async () => {
    const c = await RpcTestClient.connect(daemon.socket);
    await c.open('test:///default');
    const unknown = errorOf(await c.rawCall(REMOTE_PROGRAM, 9999, Buffer.alloc(0)));
    assert.deepEqual([unknown.code, unknown.domain, unknown.message], [39, 7, 'unknown procedure: 9999']);
    const program = errorOf(await c.rawCall(0x20008088, 1, Buffer.alloc(0)));
    assert.deepEqual([program.code, program.domain, program.message], [39, 7, 'Cannot find program 536903816 version 1']);
    const version = errorOf(await c.rawCall(REMOTE_PROGRAM, 1, Buffer.alloc(0), 2));
    assert.equal(version.message, 'Cannot find program 536903814 version 2');
    // NODE_GET_INFO (6): libvirt has it, snapvirt does not serve it: a driver without virNodeGetInfo's error.
    const unserved = errorOf(await c.rawCall(REMOTE_PROGRAM, 6, Buffer.alloc(0)));
    assert.deepEqual([unserved.code, unserved.domain, unserved.message], [3, 20, 'this function is not supported by the connection driver: virNodeGetInfo']);
    // One libvirt has but snapvirtd cannot name (DOMAIN_SET_SCHEDULER_PARAMETERS, 58): named by its number.
    const unnamed = errorOf(await c.rawCall(REMOTE_PROGRAM, 58, Buffer.alloc(0)));
    assert.deepEqual([unnamed.code, unnamed.domain, unnamed.message], [3, 20, 'this function is not supported by the connection driver: remote procedure 58']);
    // The QEMU program's agent command (3): libvirt-qemu's functions report from VIR_FROM_NONE.
    const agent = errorOf(await c.rawCall(0x20008087, 3, Buffer.alloc(0)));
    assert.deepEqual([agent.code, agent.domain, agent.message], [3, 0, 'this function is not supported by the connection driver: virDomainQemuAgentCommand']);
    // LOOKUP_BY_NAME with a string length past the end: libvirtd's reply, connection kept.
    const bad = errorOf(await c.rawCall(REMOTE_PROGRAM, 23, Buffer.from('7fffffff', 'hex')));
    assert.deepEqual([bad.code, bad.domain, bad.message], [39, 7, 'Unable to decode message payload']);
    assert.deepEqual((await c.call(P.REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, { name: 'test' })).dom.name, 'test');
    c.end();
  });

  it('answers a keepalive PING with a PONG', async () => {
    const c = await RpcTestClient.connect(daemon.socket);
    c.write(encodeFrame({ prog: KEEPALIVE_PROGRAM, vers: 1, proc: 1, type: 2, serial: 0, status: 0 }, Buffer.alloc(0)));
    await c.open('test:///default');
    assert.deepEqual(c.messages.map((m) => [m.header.prog, m.header.proc, m.header.type, m.header.serial]), [[KEEPALIVE_PROGRAM, 2, 2, 0]]);
    c.end();
  });

  it('answers 64 pipelined calls, each by its serial', async () => {
    const c = await RpcTestClient.connect(daemon.socket);
    await c.open('test:///default');
    const names = await Promise.all(Array.from({ length: 64 }, (_, i) =>
      c.call(P.REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME, { name: i % 2 ? 'test' : 'nosuch' }).then((r) => r.dom.name, (e: Error) => e.message)));
    assert.deepEqual(names, Array.from({ length: 64 }, (_, i) => (i % 2 ? 'test' : 'Domain not found')));
    c.end();
  });

  for (const [what, bytes, logged] of [
    ['an oversized length word', Buffer.from('ffffffff', 'hex'), /packet 4294967295 bytes received too large, want at most 33554436/],
    ['a length just past libvirt\'s limit', Buffer.from('02000005', 'hex'), /packet 33554437 bytes received too large/],
    ['a length shorter than a header', Buffer.from('00000008aabbccdd', 'hex'), /packet 8 bytes received too small/],
    ['a header of an unknown message type', encodeFrame({ prog: REMOTE_PROGRAM, vers: 1, proc: 1, type: 2, serial: 1, status: 0 }, Buffer.alloc(0)).fill(9, 16, 20), /is not a value of enum virNetMessageType/],
    ['a REPLY sent by a client', encodeFrame({ prog: REMOTE_PROGRAM, vers: 1, proc: 1, type: 1, serial: 1, status: 0 }, Buffer.alloc(0)), /unexpected message type 1 from a client/],
  ] as const) {
    it(`closes a connection that sends ${what}, with one log line, and serves the others`, async () => {
      const before = daemon.log().split('\n').length;
      const c = await RpcTestClient.connect(daemon.socket);
      c.write(bytes);
      await c.closed;
      const lines = daemon.log().split('\n').slice(before - 1).filter((l) => l.includes('closed:'));
      assert.equal(lines.length, 1, daemon.log());
      assert.match(lines[0]!, logged);
      await stillServes();
    });
  }

  it('survives random bytes from many clients, and truncated frames from clients that then leave', async () => {
    for (let i = 0; i < 40; i++) {
      const c = await RpcTestClient.connect(daemon.socket);
      const junk = randomBytes(1 + (i * 37) % 300);
      // Half of them start with a valid-looking length so the header decoder is reached.
      if (i % 2 === 0 && junk.length >= 4) junk.writeUInt32BE(Math.min(junk.length, 28 + (i % 5)), 0);
      c.write(junk);
      c.end();
      await c.closed;
    }
    await stillServes();
    assert.doesNotMatch(daemon.log(), /internal error|TypeError|RangeError/);
  });
});
