/**
 * The codec against real traffic: every frame virsh 9.0 and libvirtd 9.0 exchanged in
 * test/fixtures/rpc/ decodes, and encodes back to the very same bytes; and the decoded
 * values are what the commands were about.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBody, REMOTE } from '../../src/rpc/programs.js';
import { decodeFrame, encodeFrame, encodePayload } from '../../src/rpc/message.js';
import { remote_error, type RemoteConnectListAllDomainsRet, type RemoteConnectOpenArgs, type RemoteDomainGetInfoRet } from '../../src/rpc/generated/remote-protocol.js';
import { FrameSplitter } from '../../src/rpc/frame-splitter.js';
import { allCapturedFrames, capturedFrames } from './rpc-fixtures.js';

test('every captured frame decodes and encodes back byte for byte', () => {
  const frames = allCapturedFrames();
  assert.ok(frames.length > 150, `only ${frames.length} frames captured`);
  let unknown = 0;
  for (const { file, frame } of frames) {
    const m = decodeFrame(frame);
    assert.deepEqual(encodeFrame(m.header, m.payload), frame, `${file}: header of proc ${m.header.proc}`);
    const body = decodeBody(m);
    if (body.kind === 'unknown') { unknown++; continue; }
    const again = body.kind === 'error' ? encodePayload(remote_error, body.value)
      : encodePayload(body.kind === 'args' ? body.spec.args : body.kind === 'ret' ? body.spec.ret : body.spec.msg, body.value);
    assert.deepEqual(again, m.payload, `${file}: ${body.kind} of ${body.kind === 'error' ? 'an error' : body.spec.name}`);
  }
  // Only unknown.jsonl's two calls to procedure 9999 and program 0x20008088 are unknown on purpose.
  assert.equal(unknown, 2);
});

test('a stream of captured frames cut at every byte boundary splits into the same frames', () => {
  const frames = capturedFrames('snapshots.jsonl').filter((f) => f.dir === 'server').map((f) => f.frame);
  const stream = Buffer.concat(frames);
  for (const step of [1, 3, 7, 64, stream.length]) {
    const splitter = new FrameSplitter();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += step) out.push(...splitter.push(stream.subarray(i, i + step)));
    assert.deepEqual(out, frames, `chunks of ${step}`);
    assert.equal(splitter.pending, 0);
  }
});

test('decoded values: virsh opens test:///default without the transport and socket, libvirtd offers auth none', () => {
  const messages = capturedFrames('list.jsonl').map((f) => ({ dir: f.dir, m: decodeFrame(f.frame) }));
  const open = messages.find((x) => x.dir === 'client' && x.m.header.proc === REMOTE.procedures.get(1)!.num)!;
  const args = decodeBody(open.m);
  assert.equal(args.kind, 'args');
  assert.deepEqual(args.kind === 'args' && (args.value as RemoteConnectOpenArgs), { name: 'test:///default', flags: 0 });
  const auth = messages.find((x) => x.dir === 'server' && x.m.header.proc === 66)!;
  assert.deepEqual(decodeBody(auth.m).kind === 'ret' && (decodeBody(auth.m) as { value: unknown }).value, { types: [0] });
  const all = messages.find((x) => x.dir === 'server' && x.m.header.proc === 273)!;
  const listed = (decodeBody(all.m) as { value: RemoteConnectListAllDomainsRet }).value;
  assert.deepEqual(listed.domains.map((d) => [d.name, d.uuid.toString('hex'), d.id]), [['test', '6695eb01f6a4830479aa97f2502e193f', 1]]);
  assert.equal(listed.ret, 1);
});

test('decoded values: dominfo GET_INFO, and libvirtd\'s errors with code, domain, message, str1, str2', () => {
  const info = capturedFrames('dominfo.jsonl').map((f) => decodeFrame(f.frame)).find((m) => m.header.proc === 16 && m.header.type === 1)!;
  const ret = (decodeBody(info).kind === 'ret' ? (decodeBody(info) as { value: RemoteDomainGetInfoRet }).value : undefined)!;
  assert.deepEqual([ret.state, ret.maxMem, ret.memory, ret.nrVirtCpu], [1, 8388608n, 2097152n, 2]);
  const errors = ['snapshots.jsonl', 'unknown.jsonl', 'qmon.jsonl'].flatMap(capturedFrames).map((f) => decodeBody(decodeFrame(f.frame)))
    .flatMap((b) => (b.kind === 'error' ? [b.value] : []));
  assert.deepEqual(errors.map((e) => [e.code, e.domain, e.message, e.level, e.str1, e.str2, e.int1]), [
    [72, 12, "Domain snapshot not found: snapshot 's1' does not have a parent", 2, 'Domain snapshot not found: %s', "snapshot 's1' does not have a parent", -1],
    [72, 12, "Domain snapshot not found: no domain snapshot with matching name 'nosuch'", 2, 'Domain snapshot not found: %s', "no domain snapshot with matching name 'nosuch'", -1],
    [39, 7, 'unknown procedure: 9999', 2, '%s', 'unknown procedure: 9999', -1],
    [39, 7, 'Cannot find program 536903816 version 1', 2, '%s', 'Cannot find program 536903816 version 1', -1],
    [3, 0, 'this function is not supported by the connection driver: virDomainQemuMonitorCommand', 2,
      'this function is not supported by the connection driver: %s', 'virDomainQemuMonitorCommand', -1],
  ]);
});

test('keepalive: virsh sends PING as a MESSAGE with serial 0, libvirtd answers PONG', () => {
  const ka = capturedFrames('keepalive.jsonl').map((f) => ({ dir: f.dir, m: decodeFrame(f.frame) })).filter((x) => x.m.header.prog === 0x6b656570);
  assert.deepEqual(ka.slice(0, 2).map((x) => [x.dir, x.m.header.proc, x.m.header.type, x.m.header.serial, x.m.payload.length]),
    [['client', 1, 2, 0, 0], ['server', 2, 2, 0, 0]]);
});
