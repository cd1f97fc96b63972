/** VirError ↔ remote_error: snapvirt's errors go on the wire as libvirtd's do, byte for byte. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { virError, VirErrorCode, VirErrorDomain } from '../../src/api/errors.js';
import { remote_error } from '../../src/rpc/generated/remote-protocol.js';
import { decodeFrame, encodePayload } from '../../src/rpc/message.js';
import { remoteErrorOf, virErrorOf } from '../../src/rpc/remote-error.js';
import { capturedFrames } from './rpc-fixtures.js';

function capturedError(file: string, proc: number): Buffer {
  const m = capturedFrames(file).map((f) => decodeFrame(f.frame)).find((x) => x.header.proc === proc && x.header.status === 1);
  assert.ok(m, `no error reply to ${proc} in ${file}`);
  return m.payload;
}

test('a VirError encodes as the remote_error libvirtd 9.0 sent for the same error', () => {
  const notFound = virError(VirErrorCode.NO_DOMAIN_SNAPSHOT, VirErrorDomain.TEST, "no domain snapshot with matching name 'nosuch'");
  assert.deepEqual(encodePayload(remote_error, remoteErrorOf(notFound)), capturedError('snapshots.jsonl', 189));
  const noDomain = virError(VirErrorCode.NO_DOMAIN, VirErrorDomain.TEST);
  assert.deepEqual(encodePayload(remote_error, remoteErrorOf(noDomain)), capturedError('lifecycle.jsonl', 23));
  const unsupported = virError(VirErrorCode.NO_SUPPORT, VirErrorDomain.NONE, 'virDomainQemuMonitorCommand');
  assert.deepEqual(encodePayload(remote_error, remoteErrorOf(unsupported)), capturedError('qmon.jsonl', 1));
});

test('a remote_error becomes the VirError it describes', () => {
  const err = virErrorOf(remoteErrorOf(virError(VirErrorCode.OPERATION_DENIED, VirErrorDomain.DOMAIN, 'read only access prevents virDomainDestroy')));
  assert.deepEqual([err.code, err.domain, err.message, err.detail],
    [29, 20, 'operation forbidden: read only access prevents virDomainDestroy', 'read only access prevents virDomainDestroy']);
});
