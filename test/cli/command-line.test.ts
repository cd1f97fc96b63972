import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArgvTokenSource, splitCommaList, StringTokenSource, type Token } from '../../src/cli/command-line.js';

function tokens(text: string): Token[] {
  const source = new StringTokenSource(text);
  const out: Token[] = [];
  for (;;) {
    const t = source.next();
    out.push(t);
    if (t.kind === 'end' || t.kind === 'error') return out;
  }
}

const arg = (value: string): Token => ({ kind: 'arg', value });
const END: Token = { kind: 'end' };
const SEP: Token = { kind: 'commandEnd' };

test('blanks separate arguments, ; and newline separate commands', () => {
  assert.deepEqual(tokens(' a\tb ;c\nd'), [arg('a'), arg('b'), SEP, arg('c'), SEP, arg('d'), END]);
  assert.deepEqual(tokens('a;b'), [arg('a'), SEP, arg('b'), END]);
});

test('single quotes are literal, double quotes allow backslash escapes', () => {
  assert.deepEqual(tokens(`'a b\\c' "d\\"e" f\\ g`), [arg('a b\\c'), arg('d"e'), arg('f g'), END]);
  assert.deepEqual(tokens(`x'y'"z"`), [arg('xyz'), END]);
  assert.deepEqual(tokens(`'a;b'`), [arg('a;b'), END]);
});

test('an unterminated double quote and a trailing backslash are errors; a single quote is not', () => {
  assert.deepEqual(tokens('echo "abc'), [arg('echo'), { kind: 'error', message: 'missing "' }]);
  assert.deepEqual(tokens('echo abc\\'), [arg('echo'), { kind: 'error', message: 'dangling \\' }]);
  assert.deepEqual(tokens("echo 'abc"), [arg('echo'), arg('abc'), END]);
});

test('# starts a comment to the end of the line only at the start of an argument', () => {
  assert.deepEqual(tokens('echo a#b #c; d\ne'), [arg('echo'), arg('a#b'), SEP, arg('e'), END]);
});

test('backslash-newline is elided', () => {
  assert.deepEqual(tokens('a\\\nb'), [arg('ab'), END]);
  assert.deepEqual(tokens('a \\\n b'), [arg('a'), arg('b'), END]);
});

test('argv tokens are taken as they are', () => {
  const source = new ArgvTokenSource(['echo', 'a;b', '#c']);
  assert.deepEqual([source.next(), source.next(), source.next(), source.next()], [arg('echo'), arg('a;b'), arg('#c'), END]);
});

test('comma lists treat ,, as a literal comma and "" as no element', () => {
  assert.deepEqual(splitCommaList('a,b,,c'), ['a', 'b,c']);
  assert.deepEqual(splitCommaList(',x'), ['', 'x']);
  assert.deepEqual(splitCommaList(',,,x'), [',', 'x']);
  assert.deepEqual(splitCommaList(''), []);
});

test('property: a shell-escaped word tokenizes back to itself', async () => {
  const fc = (await import('fast-check')).default;
  const { escapeShell } = await import('../../src/cli/output/escape.js');
  fc.assert(fc.property(fc.array(fc.string({ unit: 'grapheme-ascii' }), { minLength: 1, maxLength: 5 }), (words) => {
    const source = new StringTokenSource(words.map(escapeShell).join(' '));
    const back: string[] = [];
    for (let t = source.next(); t.kind === 'arg'; t = source.next()) back.push(t.value);
    assert.deepEqual(back, words);
  }));
});
