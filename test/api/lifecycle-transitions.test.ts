/**
 * The events a change of state stands for when the daemon did not make it: each pair of
 * before/after pictures and the events libvirt's QEMU driver raises for that change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lifecycleTransitions, type SeenDomain } from '../../src/api/lifecycle-transitions.js';

const off = (reason = 0, extra: Partial<SeenDomain> = {}): SeenDomain => ({ name: 'd', persistent: true, id: -1, state: 5, reason, ...extra });
const running = (reason = 1, id = 7, extra: Partial<SeenDomain> = {}): SeenDomain => ({ name: 'd', persistent: true, id, state: 1, reason, ...extra });
const paused = (reason = 1, id = 7): SeenDomain => ({ name: 'd', persistent: true, id, state: 3, reason });
const names = (events: ReturnType<typeof lifecycleTransitions>) => events.map(([e, d, n]) => `${n} ${e} ${d}`);

test('no change, no event', () => {
  assert.deepEqual(lifecycleTransitions(running(), running()), []);
  assert.deepEqual(lifecycleTransitions(off(2), off(7)), []);
  assert.deepEqual(lifecycleTransitions(undefined, undefined), []);
});

test('defined and undefined, by persistence', () => {
  assert.deepEqual(names(lifecycleTransitions(undefined, off())), ['d 0 0']);
  assert.deepEqual(names(lifecycleTransitions(off(), undefined)), ['d 1 0']);
  // A running persistent domain undefined becomes transient: UNDEFINED only.
  assert.deepEqual(names(lifecycleTransitions(running(), running(1, 7, { persistent: false }))), ['d 1 0']);
  // A running persistent domain that goes away: STOPPED, then UNDEFINED.
  assert.deepEqual(names(lifecycleTransitions(running(), undefined)), ['d 5 0', 'd 1 0']);
});

test('started, with the detail from the running reason; started paused adds SUSPENDED', () => {
  assert.deepEqual(names(lifecycleTransitions(off(), running(1))), ['d 2 0']);
  assert.deepEqual(names(lifecycleTransitions(off(), running(3))), ['d 2 2']);
  assert.deepEqual(names(lifecycleTransitions(off(), running(4))), ['d 2 3']);
  assert.deepEqual(names(lifecycleTransitions(off(), paused(1))), ['d 2 0', 'd 3 0']);
  assert.deepEqual(names(lifecycleTransitions(off(), paused(7))), ['d 2 3', 'd 3 5']);
  // A transient domain that appears running: STARTED only.
  assert.deepEqual(names(lifecycleTransitions(undefined, running(1, 9, { persistent: false }))), ['d 2 0']);
});

test('suspended and resumed, from snapshot or not', () => {
  assert.deepEqual(names(lifecycleTransitions(running(), paused(1))), ['d 3 0']);
  assert.deepEqual(names(lifecycleTransitions(running(), paused(7))), ['d 3 5']);
  assert.deepEqual(names(lifecycleTransitions(paused(), running(5))), ['d 4 0']);
  assert.deepEqual(names(lifecycleTransitions(paused(), running(4))), ['d 4 2']);
});

test('stopped, with the detail from the shut-off reason', () => {
  assert.deepEqual(names(lifecycleTransitions(running(), off(1))), ['d 5 0']);
  assert.deepEqual(names(lifecycleTransitions(running(), off(2))), ['d 5 1']);
  assert.deepEqual(names(lifecycleTransitions(running(), off(3))), ['d 5 2']);
  assert.deepEqual(names(lifecycleTransitions(paused(), off(7))), ['d 5 6']);
  assert.deepEqual(names(lifecycleTransitions(running(), off(0))), ['d 5 0']);
});

test('a new runtime id between two looks is a stop and a start', () => {
  assert.deepEqual(names(lifecycleTransitions(running(1, 7), running(4, 8))), ['d 5 0', 'd 2 3']);
});

test('a rename: UNDEFINED with the old name, DEFINED with the new, both RENAMED', () => {
  assert.deepEqual(names(lifecycleTransitions(off(), off(0, { name: 'e' }))), ['d 1 1', 'e 0 2']);
});
