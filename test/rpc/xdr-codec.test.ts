/** XDR primitives: their exact bytes (RFC 4506), their limits, and refusal of truncated input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as x from '../../src/rpc/xdr-codec.js';
import { XdrError } from '../../src/rpc/xdr-error.js';
import { XdrReader } from '../../src/rpc/xdr-reader.js';
import { encodePayload, decodePayload } from '../../src/rpc/message.js';
import { remote_typed_param, type RemoteTypedParam } from '../../src/rpc/generated/remote-protocol.js';

const hex = <T>(codec: x.Codec<T>, v: T): string => encodePayload(codec, v).toString('hex');
const back = <T>(codec: x.Codec<T>, h: string): T => decodePayload(codec, Buffer.from(h, 'hex'));

test('integers, hypers, bool, double are big-endian in 4 or 8 bytes', () => {
  assert.equal(hex(x.int, -2), 'fffffffe');
  assert.equal(hex(x.uint, 0xfffffffe), 'fffffffe');
  assert.equal(back(x.int, 'fffffffe'), -2);
  assert.equal(back(x.uint, 'fffffffe'), 0xfffffffe);
  assert.equal(hex(x.hyper, -1n), 'ffffffffffffffff');
  assert.equal(hex(x.uhyper, 9007199254740993n), '0020000000000001');
  assert.equal(back(x.uhyper, 'ffffffffffffffff'), 18446744073709551615n);
  assert.equal(hex(x.bool, true), '00000001');
  assert.equal(back(x.bool, '00000000'), false);
  assert.equal(hex(x.double, 1.5), '3ff8000000000000');
  assert.throws(() => hex(x.int, 2 ** 31), XdrError);
  assert.throws(() => hex(x.uint, -1), XdrError);
  assert.throws(() => hex(x.int, 1.5), XdrError);
});

test('strings and opaque data carry a length and pad to 4 bytes; fixed opaque has no length', () => {
  assert.equal(hex(x.string(10), 'abcde'), '000000056162636465000000');
  assert.equal(hex(x.string(10), ''), '00000000');
  assert.equal(back(x.string(10), '000000056162636465000000'), 'abcde');
  assert.equal(hex(x.string(10), 'é'), '00000002c3a90000');
  // Bytes that are not UTF-8 survive a round trip (libvirt's strings are C strings).
  assert.equal(hex(x.string(10), back(x.string(10), '00000003ff61e900')), '00000003ff61e900');
  assert.equal(hex(x.fixedOpaque(3), Buffer.from([1, 2, 3])), '01020300');
  assert.equal(hex(x.opaque(8), Buffer.from([9])), '0000000109000000');
  assert.throws(() => hex(x.string(4), 'abcde'), /over its limit 4/);
  assert.throws(() => back(x.string(4), '0000000561626364650000'), /over its limit 4/);
  assert.throws(() => hex(x.fixedOpaque(16), Buffer.alloc(15)), XdrError);
});

test('optional values, arrays with a maximum, fixed arrays', () => {
  const opt = x.optional(x.string(8));
  assert.equal(hex(opt, null), '00000000');
  assert.equal(hex(opt, 'a'), '000000010000000161000000');
  assert.equal(back(opt, '00000000'), null);
  assert.equal(back(opt, '000000010000000161000000'), 'a');
  const arr = x.array(x.int, 3);
  assert.equal(hex(arr, [1, -1]), '0000000200000001ffffffff');
  assert.deepEqual(back(arr, '0000000200000001ffffffff'), [1, -1]);
  assert.throws(() => hex(arr, [1, 2, 3, 4]), /over its limit 3/);
  assert.throws(() => back(arr, '00000004'), /over its limit 3/);
  assert.equal(hex(x.fixedArray(x.uint, 2), [1, 2]), '0000000100000002');
});

test('structs in field order, enums only with their values, unions by discriminant', () => {
  const s = x.struct<{ b: number; a: string }>({ b: x.int, a: x.string(4) });
  assert.equal(hex(s, { a: 'x', b: 7 }), '000000070000000178000000');
  const e = x.enumeration('e', [0, 2]);
  assert.equal(hex(e, 2), '00000002');
  assert.throws(() => hex(e, 1), /not a value of enum e/);
  assert.throws(() => back(e, '00000001'), /not a value of enum e/);
  const param: RemoteTypedParam = { field: 'f', value: { type: 7, value: 'yes' } };
  const bytes = hex(remote_typed_param, param);
  assert.equal(bytes, '00000001660000000000000700000003796573' + '00');
  assert.deepEqual(back(remote_typed_param, bytes), param);
  assert.deepEqual(back(remote_typed_param, '0000000166000000000000040000000000000005'), { field: 'f', value: { type: 4, value: 5n } });
  assert.throws(() => back(remote_typed_param, '000000016600000000000009'), /not a case of union/);
});

test('truncated input is an XdrError, never a read past the end', () => {
  for (const [codec, h] of [[x.int, 'ffff'], [x.hyper, '00000000'], [x.string(10), '00000005616263'], [x.array(x.int, 10), '00000002000000']] as const) {
    assert.throws(() => (codec as x.Codec<unknown>).decode(new XdrReader(Buffer.from(h, 'hex'))), XdrError);
  }
  // A count far past what is left is refused before looping over it.
  assert.throws(() => back(x.array(x.int, 1 << 30), '3fffffff'), /cannot fit/);
});
