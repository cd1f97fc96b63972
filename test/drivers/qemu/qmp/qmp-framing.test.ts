import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QmpLineDecoder } from '../../../../src/drivers/qemu/qmp/qmp-framing.js';

test('a message split across chunks is delivered once, whole', () => {
  const d = new QmpLineDecoder();
  assert.deepEqual(d.push(Buffer.from('{"return": {')), []);
  assert.equal(d.bufferedBytes, 12);
  assert.deepEqual(d.push(Buffer.from('}, "id": "a"}\r\n')), ['{"return": {}, "id": "a"}']);
  assert.equal(d.bufferedBytes, 0);
});

test('several messages in one chunk come out in order, CRLF stripped, blank lines dropped', () => {
  const d = new QmpLineDecoder();
  const lines = d.push(Buffer.from('{"a":1}\r\n\r\n{"b":2}\n{"c":'));
  assert.deepEqual(lines, ['{"a":1}', '{"b":2}']);
  assert.deepEqual(d.push(Buffer.from('3}\r\n')), ['{"c":3}']);
});

test('a UTF-8 character cut between chunks is decoded intact', () => {
  const d = new QmpLineDecoder();
  const bytes = Buffer.from('{"desc":"déjà"}\n');
  const cut = bytes.indexOf(0xc3) + 1; // inside the two-byte é
  assert.deepEqual(d.push(bytes.subarray(0, cut)), []);
  assert.deepEqual(d.push(bytes.subarray(cut)), ['{"desc":"déjà"}']);
});

test('a chunk buffer reused by the stream does not corrupt the pending tail', () => {
  const d = new QmpLineDecoder();
  const chunk = Buffer.from('{"x":');
  d.push(chunk);
  chunk.fill(0x20);
  assert.deepEqual(d.push(Buffer.from('1}\n')), ['{"x":1}']);
});
