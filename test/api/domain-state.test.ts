import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  connect, DomainState, domainStateName, domainStateReasonName, PausedReason, RunningReason, ShutoffReason,
} from '../../src/index.js';

test('state and reason names are libvirt enum names', () => {
  assert.equal(domainStateName(DomainState.SHUTOFF), 'SHUTOFF');
  assert.equal(domainStateName(7), 'PMSUSPENDED');
  assert.equal(domainStateName(99), 'NOSTATE');
  assert.equal(domainStateReasonName(DomainState.SHUTOFF, ShutoffReason.FROM_SNAPSHOT), 'FROM_SNAPSHOT');
  assert.equal(domainStateReasonName(DomainState.PAUSED, PausedReason.SNAPSHOT), 'SNAPSHOT');
  assert.equal(domainStateReasonName(DomainState.RUNNING, RunningReason.POSTCOPY_FAILED), 'POSTCOPY_FAILED');
  assert.equal(domainStateReasonName(DomainState.CRASHED, 1), 'PANICKED');
  assert.equal(domainStateReasonName(DomainState.SHUTOFF, 42), 'UNKNOWN');
});

test('getState of the test node names what virsh domstate --reason shows', async () => {
  await using conn = await connect('test:///default');
  const dom = await conn.domainLookupByName('test');
  const running = await dom.getState();
  assert.deepEqual([domainStateName(running.state), domainStateReasonName(running.state, running.reason)], ['RUNNING', 'UNKNOWN']); // virsh: running (unknown)
  await dom.destroy();
  const off = await dom.getState();
  assert.deepEqual([domainStateName(off.state), domainStateReasonName(off.state, off.reason)], ['SHUTOFF', 'DESTROYED']);
});
