import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeShell, escapeXml } from '../../src/cli/output/escape.js';
import { displayWidth, formatTable, safeCell } from '../../src/cli/output/table.js';
import { formatLocalTime } from '../../src/cli/output/time-format.js';
import { formatTree, writeTree, type TreeEntry } from '../../src/cli/output/tree.js';

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

test('tree: a drawing of many chunks is the same whether the sink keeps each chunk or hands it back, and no chunk splits a character', () => {
  // 1,500 deep with multi-byte names: about 9 MB of drawing, so several 1 MiB chunks.
  const chain = entries(Array.from({ length: 1500 }, (_, i): [string, string | undefined] => [`снимок-${i}`, i > 0 ? `снимок-${i - 1}` : undefined]));
  const kept: Buffer[] = [];
  writeTree(chain, 0, (chunk) => {
    kept.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    return false;
  });
  const reused: string[] = [];
  let sizes = 0;
  writeTree(chain, 0, (chunk) => {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // A split character would decode to U+FFFD at a chunk's edge.
    assert.ok(!bytes.toString('utf8').includes('\ufffd'));
    assert.ok(bytes.length <= 1 << 20);
    sizes += 1;
    reused.push(bytes.toString('utf8'));
    return true;
  });
  assert.ok(sizes > 4);
  const expected = formatTree(chain, 0);
  assert.equal(Buffer.concat(kept).toString('utf8'), expected);
  assert.equal(reused.join(''), expected);
  assert.ok(expected.endsWith(`+- снимок-1499\n${' '.repeat(4 * 1499)}\n`));
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
