import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVirError, VirErrorCode } from '../../src/api/errors.js';
import {
  declareFailpoints, declareOperationKind, failpoint, FAILPOINTS, listFailpoints, OPERATION_KINDS, OPERATION_PHASE_POINTS,
  parseFailpointSpec,
} from '../../src/txn/failpoints.js';
import { runChild, startChildUntil } from './child-process.js';
import { waitUntilStopped } from '../helpers/process-state.js';

function withEnv<T>(value: string | undefined, fn: () => T): T {
  const old = process.env['SNAPVIRT_FAILPOINTS'];
  if (value === undefined) delete process.env['SNAPVIRT_FAILPOINTS'];
  else process.env['SNAPVIRT_FAILPOINTS'] = value;
  try {
    return fn();
  } finally {
    if (old === undefined) delete process.env['SNAPVIRT_FAILPOINTS'];
    else process.env['SNAPVIRT_FAILPOINTS'] = old;
  }
}

test('every operation kind has every phase failpoint declared, in the one exported list', () => {
  for (const op of OPERATION_KINDS) {
    for (const p of OPERATION_PHASE_POINTS) assert.ok(FAILPOINTS.includes(`${op}.${p}`), `${op}.${p}`);
  }
  assert.ok(FAILPOINTS.includes('create.journal.after'));
  assert.ok(FAILPOINTS.includes('recover.undo.resource.after'));
  assert.deepEqual(listFailpoints(), [...listFailpoints()].sort());
  assert.equal(new Set(listFailpoints()).size, listFailpoints().length);
});

test('failpoint() is a no-op when not enabled, and rejects undeclared names', () => {
  withEnv(undefined, () => {
    assert.doesNotThrow(() => failpoint('create.journal.after'));
    assert.throws(() => failpoint('create.journal.afterr'), (e: unknown) =>
      isVirError(e, VirErrorCode.INTERNAL_ERROR) && /undeclared failpoint 'create\.journal\.afterr'/.test(e.message));
  });
});

test('error action throws a VirError "internal error: failpoint NAME"', () => {
  withEnv('revert.commit.before=error', () => {
    assert.doesNotThrow(() => failpoint('revert.commit.after'));
    assert.throws(() => failpoint('revert.commit.before'), (e: unknown) =>
      isVirError(e, VirErrorCode.INTERNAL_ERROR) && e.message === 'internal error: failpoint revert.commit.before');
  });
});

test('@N fires only on the N-th hit', () => {
  withEnv('delete.prepare.step.after=error@3', () => {
    failpoint('delete.prepare.step.after');
    failpoint('delete.prepare.step.after');
    assert.throws(() => failpoint('delete.prepare.step.after'), /failpoint delete\.prepare\.step\.after/);
    assert.doesNotThrow(() => failpoint('delete.prepare.step.after'));
  });
});

test('an environment naming an undeclared failpoint, or with bad syntax, is an error', () => {
  withEnv('create.journal.aftr=crash', () => {
    assert.throws(() => failpoint('create.journal.after'), /undeclared failpoint 'create\.journal\.aftr'/);
  });
  assert.throws(() => parseFailpointSpec('create.journal.after=explode'), /invalid SNAPVIRT_FAILPOINTS entry/);
  assert.throws(() => parseFailpointSpec('create.journal.after=crash@0'), /invalid SNAPVIRT_FAILPOINTS entry/);
  assert.equal(parseFailpointSpec('a.b=crash, c.d=error@2;').size, 2);
});

test('declared extra names and operation kinds become failpoints', () => {
  declareFailpoints(['qemu.qmp.transaction.after']);
  declareOperationKind('testextra');
  const all = listFailpoints();
  assert.ok(all.includes('qemu.qmp.transaction.after'));
  assert.ok(all.includes('testextra.switch.before'));
  assert.throws(() => declareFailpoints(['no-dots']), /invalid failpoint name/);
});

test('crash action SIGKILLs the process exactly at the named point', async () => {
  const res = await runChild('failpoint-child', ['create.journal.before', 'create.journal.after', 'create.commit.before'],
    { SNAPVIRT_FAILPOINTS: 'create.journal.after=crash' });
  assert.equal(res.signal, 'SIGKILL');
  assert.equal(res.stdout, 'reached create.journal.before\npassed create.journal.before\nreached create.journal.after\n');
});

test('crash@N kills on the N-th hit only', async () => {
  const p = 'create.prepare.step.before';
  const res = await runChild('failpoint-child', [p, p, p], { SNAPVIRT_FAILPOINTS: `${p}=crash@2` });
  assert.equal(res.signal, 'SIGKILL');
  assert.equal(res.stdout, `reached ${p}\npassed ${p}\nreached ${p}\n`);
});

test('stop action freezes the process at the named point until SIGCONT, then it carries on', async () => {
  const names = ['create.journal.before', 'create.journal.after', 'create.commit.before'];
  const { child, exited } = await startChildUntil('failpoint-child', names, 'reached create.journal.after',
    { SNAPVIRT_FAILPOINTS: 'create.journal.after=stop' });
  await waitUntilStopped(child.pid!);
  child.kill('SIGCONT');
  const res = await exited;
  assert.equal(res.code, 0);
  assert.equal(res.stdout, names.map((n) => `reached ${n}\npassed ${n}\n`).join('') + 'end\n');
});

test('a child with no failpoints enabled runs to the end', async () => {
  const res = await runChild('failpoint-child', ['create.journal.before', 'create.commit.after']);
  assert.equal(res.signal, null);
  assert.equal(res.code, 0);
  assert.match(res.stdout, /end\n$/);
});

test('every declared failpoint can crash a child process', async () => {
  // Cheap enough to do them all: each is one short node process.
  for (const name of FAILPOINTS.filter((n) => n.startsWith('create.') || n.startsWith('recover.'))) {
    const res = await runChild('failpoint-child', [name], { SNAPVIRT_FAILPOINTS: `${name}=crash` });
    assert.equal(res.signal, 'SIGKILL', name);
    assert.equal(res.stdout, `reached ${name}\n`, name);
  }
});
