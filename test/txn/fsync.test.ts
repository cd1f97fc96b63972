import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, fsyncFile, writeFileDurable } from '../../src/txn/fsync.js';
import { tempDir } from './child-process.js';

test('writeFileDurable creates a 0600 file with the content and leaves no temp file', () => {
  const dir = tempDir();
  const path = join(dir, 'domain.xml');
  writeFileDurable(path, '<domain/>\n');
  assert.equal(readFileSync(path, 'utf8'), '<domain/>\n');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['domain.xml']);
});

test('writeFileDurable replaces an existing file whole, with the mode asked for', () => {
  const dir = tempDir();
  const path = join(dir, 'f');
  writeFileSync(path, 'old content that is longer');
  writeFileDurable(path, Buffer.from('new'), 0o640);
  assert.equal(readFileSync(path, 'utf8'), 'new');
  assert.equal(statSync(path).mode & 0o777, 0o640);
  assert.deepEqual(readdirSync(dir), ['f']);
});

test('writeFileDurable into a missing directory fails and creates nothing', () => {
  const dir = tempDir();
  assert.throws(() => writeFileDurable(join(dir, 'nope', 'f'), 'x'), /ENOENT/);
  assert.deepEqual(readdirSync(dir), []);
});

test('writeFileDurable onto a directory fails and cleans its temp file', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'sub'));
  assert.throws(() => writeFileDurable(join(dir, 'sub'), 'x'), /EISDIR|ENOTEMPTY|EEXIST/);
  assert.deepEqual(readdirSync(dir), ['sub']);
});

test('fsyncFile and fsyncDir work on what exists and throw on what does not', () => {
  const dir = tempDir();
  const path = join(dir, 'f');
  writeFileSync(path, 'x');
  fsyncFile(path);
  fsyncDir(dir);
  assert.throws(() => fsyncFile(join(dir, 'missing')), /ENOENT/);
  assert.throws(() => fsyncDir(path), /ENOTDIR/);
});
