import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isVirError, VirErrorCode } from '../../src/api/errors.js';
import {
  acquireDomainLock, currentBootId, isHolderDead, readLockHolder, tryAcquireDomainLock, withDomainLock,
} from '../../src/txn/domain-lock.js';
import { runChild, startChildUntil, tempDir } from './child-process.js';

const UUID = 'a1b2c3d4-0000-4000-8000-000000000001';

test('a held lock records its holder (pid, boot id, operation) in 0600 files, and release removes the holder', async () => {
  const dir = join(tempDir(), 'locks');
  const lock = await acquireDomainLock(dir, UUID, 'snapshot-create', { timeoutMs: 0 });
  const holder = readLockHolder(dir, UUID);
  assert.equal(holder?.pid, process.pid);
  assert.equal(holder?.operation, 'snapshot-create');
  assert.equal(holder?.bootId, currentBootId());
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, `${UUID}.lock`)).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, `${UUID}.holder`)).mode & 0o777, 0o600);
  assert.ok(lock.held);
  lock.release();
  lock.release(); // idempotent
  assert.equal(lock.held, false);
  assert.equal(readLockHolder(dir, UUID), undefined);
});

test('two acquisitions in one process exclude each other', async () => {
  const dir = join(tempDir(), 'locks');
  const first = tryAcquireDomainLock(dir, UUID, 'one');
  assert.ok(first);
  assert.equal(tryAcquireDomainLock(dir, UUID, 'two'), undefined);
  // A different domain is independent.
  const other = tryAcquireDomainLock(dir, 'a1b2c3d4-0000-4000-8000-000000000002', 'three');
  assert.ok(other);
  await assert.rejects(acquireDomainLock(dir, UUID, 'two', { timeoutMs: 30 }), (e: unknown) =>
    isVirError(e, VirErrorCode.OPERATION_TIMEOUT)
    && e.message === `Timed out during operation: cannot acquire state change lock (held by one, pid ${process.pid})`);
  first.release();
  other.release();
  const again = tryAcquireDomainLock(dir, UUID, 'two');
  assert.ok(again);
  again.release();
});

test('a lock held by another process: a short wait fails naming the holder; a long one gets it after release', async () => {
  const dir = join(tempDir(), 'locks');
  const { child, exited } = await startChildUntil('lock-child', [dir, UUID, 'snapshot-create', 'stdin'], 'locked');
  await assert.rejects(acquireDomainLock(dir, UUID, 'snapshot-revert', { timeoutMs: 20 }), (e: unknown) =>
    isVirError(e, VirErrorCode.OPERATION_TIMEOUT)
    && e.message === `Timed out during operation: cannot acquire state change lock (held by snapshot-create, pid ${child.pid})`);
  const waiting = acquireDomainLock(dir, UUID, 'snapshot-revert', { timeoutMs: 600_000 });
  child.stdin!.end(); // tells the child to release
  const lock = await waiting;
  const res = await exited;
  assert.match(res.stdout, /released/, 'we got the lock only after the child released it');
  lock.release();
});

test('the bounded wait comes from SNAPVIRT_LOCK_TIMEOUT_MS in a child', async () => {
  const dir = join(tempDir(), 'locks');
  const held = tryAcquireDomainLock(dir, UUID, 'snapshot-delete');
  assert.ok(held);
  const res = await runChild('lock-child', [dir, UUID, 'snapshot-create', '0'], { SNAPVIRT_LOCK_TIMEOUT_MS: '50' });
  held.release();
  assert.equal(res.code, 3);
  assert.equal(res.stderr.trim(),
    `Timed out during operation: cannot acquire state change lock (held by snapshot-delete, pid ${process.pid})`);
});

test('a SIGKILLed holder\'s lock is taken over at once', async () => {
  const dir = join(tempDir(), 'locks');
  const { child, exited } = await startChildUntil('lock-child', [dir, UUID, 'snapshot-create', '-1'], 'locked');
  assert.equal(tryAcquireDomainLock(dir, UUID, 'probe'), undefined, 'held while the child lives');
  child.kill('SIGKILL');
  const res = await exited;
  assert.equal(res.signal, 'SIGKILL');
  // The dead holder's record is still there, and is recognised as dead.
  const stale = readLockHolder(dir, UUID);
  assert.equal(stale?.pid, child.pid);
  assert.ok(stale && isHolderDead(stale));
  const lock = tryAcquireDomainLock(dir, UUID, 'snapshot-revert');
  assert.ok(lock, 'no wait needed: the kernel released the dead holder\'s lock');
  assert.equal(readLockHolder(dir, UUID)?.operation, 'snapshot-revert');
  lock.release();
});

test('contending processes never hold the lock at the same time', async () => {
  const dir = join(tempDir(), 'locks');
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'log');
  writeFileSync(log, '');
  const runs = Array.from({ length: 4 }, () =>
    runChild('lock-child', [dir, UUID, 'snapshot-create', '60', log], { SNAPVIRT_LOCK_TIMEOUT_MS: '60000' }));
  const results = await Promise.all(runs);
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  assert.equal(lines.length, 8);
  for (let i = 0; i < lines.length; i += 2) {
    const [e, pid] = lines[i]!.split(' ');
    assert.equal(e, 'enter');
    assert.equal(lines[i + 1], `exit ${pid}`, 'each holder exits before the next enters');
  }
});

test('several takers racing for a dead holder\'s lock: exactly one wins', async () => {
  const dir = join(tempDir(), 'locks');
  const { child, exited } = await startChildUntil('lock-child', [dir, UUID, 'snapshot-create', '-1'], 'locked');
  child.kill('SIGKILL');
  await exited;
  const log = join(dir, 'log');
  writeFileSync(log, '');
  const results = await Promise.all(Array.from({ length: 4 }, () =>
    runChild('lock-child', [dir, UUID, 'snapshot-revert', '40', log], { SNAPVIRT_LOCK_TIMEOUT_MS: '60000' })));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  for (let i = 0; i < lines.length; i += 2) assert.equal(lines[i + 1], lines[i]!.replace('enter', 'exit'));
});

test('withDomainLock releases on error; uuids that are not uuids are refused', async () => {
  const dir = join(tempDir(), 'locks');
  await assert.rejects(withDomainLock(dir, UUID, 'x', async () => { throw new Error('inner'); }), /inner/);
  const lock = tryAcquireDomainLock(dir, UUID, 'y');
  assert.ok(lock, 'released after the error');
  lock.release();
  assert.throws(() => tryAcquireDomainLock(dir, '../../etc/passwd', 'z'), /invalid domain uuid/);
});

test('isHolderDead: another boot id or a vanished pid means dead; this process is alive', () => {
  assert.equal(isHolderDead({ pid: process.pid, bootId: currentBootId(), operation: 'x', since: '' }), false);
  assert.equal(isHolderDead({ pid: process.pid, bootId: '00000000-0000-0000-0000-000000000000', operation: 'x', since: '' }),
    currentBootId() !== '');
  assert.equal(isHolderDead({ pid: 2 ** 22 + 12345, bootId: currentBootId(), operation: 'x', since: '' }), true);
});
