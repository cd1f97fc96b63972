import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeShell, escapeXml } from '../../src/cli/output/escape.js';
import { displayWidth, formatTable, safeCell } from '../../src/cli/output/table.js';
import { formatLocalTime } from '../../src/cli/output/time-format.js';
import { formatTree, type TreeEntry } from '../../src/cli/output/tree.js';

test('table: columns padded to the widest cell plus two, dashes of width + 3 per column', () => {
  const text = formatTable(['Name', 'Creation Time', 'State'], [['s1', '2026-11-25 18:05:50 +0000', 'running']], true);
  assert.equal(text,
    ' Name   Creation Time               State\n'
    + '---------------------------------------------\n'
    + ' s1     2026-11-25 18:05:50 +0000   running\n');
});

test('table: an empty last cell leaves the separator spaces; no rows leaves the header', () => {
  assert.equal(formatTable(['A', 'Parent'], [['x', '']], true), ' A   Parent\n-------------\n x   \n');
  assert.equal(formatTable(['Id', 'Name', 'State'], [], true), ' Id   Name   State\n--------------------\n');
});

test('table: quiet mode drops the header and its widths', () => {
  assert.equal(formatTable(['Target', 'Source'], [['vda', '/x']], false), ' vda   /x\n');
});

test('table cells escape control characters, and a backslash only before x', () => {
  assert.equal(safeCell('a\tb\x7f\\', true), 'a\\x09b\\x7f\\');
  assert.equal(safeCell('a\\xb', true), 'a\\x5cxb');
});

test('table cells: wide characters take two columns in a UTF-8 locale; outside one, virsh prints \\xff per byte', () => {
  assert.equal(displayWidth('日本'), 4);
  assert.equal(safeCell('ä', false), '\\xff\\xff');
  assert.equal(safeCell('ä', true), 'ä');
});

const entries = (pairs: Array<[string, string | undefined]>): TreeEntry[] => pairs.map(([name, parent]) => ({ name, parent }));

test('tree: the layout of tests/virsh-snapshot, trailing spaces included', () => {
  const list = entries([['s1', undefined], ['s2', 's3'], ['s3', 's1'], ['s4', 's6'], ['s5', 's6'], ['s6', 's3'], ['s7', 's1'], ['s8', 's7']]);
  assert.equal(formatTree(list, 0), [
    's1', '  |', '  +- s3', '  |   |', '  |   +- s2', '  |   +- s6', '  |       |', '  |       +- s4',
    '  |       +- s5', '  |         ', '  +- s7', '      |', '      +- s8', '        ', '',
  ].join('\n'));
});

test('tree: a lone root is followed by an empty line', () => {
  assert.equal(formatTree(entries([['only', undefined]]), 0), 'only\n\n');
});

test('local time format has a numeric zone', () => {
  assert.match(formatLocalTime(0), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$/);
  const previous = process.env.TZ;
  try {
    process.env.TZ = 'UTC';
    assert.equal(formatLocalTime(1_700_000_000), '2023-11-14 22:13:20 +0000');
  } finally {
    if (previous === undefined) delete process.env.TZ;
    else process.env.TZ = previous;
  }
});

test('XML escaping drops control characters other than tab, newline and CR', () => {
  assert.equal(escapeXml(`<&>'"\x01\t`), '&lt;&amp;&gt;&apos;&quot;\t');
});

test('shell escaping quotes only when needed', () => {
  assert.equal(escapeShell('abc'), 'abc');
  assert.equal(escapeShell(''), "''");
  assert.equal(escapeShell("d'e"), "'d'\\''e'");
  assert.equal(escapeShell('a b'), "'a b'");
});
