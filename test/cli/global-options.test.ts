import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGlobalOptions } from '../../src/cli/global-options.js';

test('options stop at the first command word', () => {
  const r = parseGlobalOptions(['-q', '-c', 'test:///default', 'list', '-q']);
  assert.ok(r.ok);
  assert.equal(r.options.uri, 'test:///default');
  assert.equal(r.options.quiet, true);
  assert.deepEqual(r.options.rest, ['list', '-q']);
});

test('clustered short options, attached values and long forms', () => {
  const r = parseGlobalOptions(['-qrctest:///default', '--timing', 'uri']);
  assert.ok(r.ok);
  assert.deepEqual([r.options.quiet, r.options.readonly, r.options.uri, r.options.timing], [true, true, 'test:///default', true]);
  const r2 = parseGlobalOptions(['--connect=x:///', '--', '--not-an-option']);
  assert.ok(r2.ok);
  assert.equal(r2.options.uri, 'x:///');
  assert.deepEqual(r2.options.rest, ['--not-an-option']);
});

test("getopt's errors in virsh's words", () => {
  assert.deepEqual(parseGlobalOptions(['-x']), { ok: false, error: "unsupported option '-x'. See --help." });
  assert.deepEqual(parseGlobalOptions(['--bogus']), { ok: false, error: "unsupported option '--bogus'. See --help." });
  assert.deepEqual(parseGlobalOptions(['-c']), { ok: false, error: "option '-c'/'--connect' requires an argument" });
  assert.deepEqual(parseGlobalOptions(['--quiet=1']), { ok: false, error: "unsupported option '-q'. See --help." });
});

test('version and help end option parsing', () => {
  const v = parseGlobalOptions(['-v', '-x']);
  assert.ok(v.ok);
  assert.equal(v.options.version, 'short');
  const long = parseGlobalOptions(['--version=long']);
  assert.ok(long.ok);
  assert.equal(long.options.version, 'long');
});

test('a debug level out of range is a warning, not a failure', () => {
  const r = parseGlobalOptions(['-d', '9', 'uri']);
  assert.ok(r.ok);
  assert.deepEqual(r.options.warnings, ['ignoring debug level 9 out of range [0-4]']);
});
