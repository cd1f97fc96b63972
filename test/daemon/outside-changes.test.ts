/**
 * outside-changes.ts told by a domain watch (domain-watches.ts) that QEMU reported a run
 * state change: the URI is looked at at once, not at the next tick. With a tick of an
 * hour, only the watch's word can bring the events of another connection's suspend and
 * resume, each made under that connection's domain lock over qmp.sock, as another process
 * makes them (a look leaves a domain alone while an operation holds it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { DomainState } from '../../src/api/flags.js';
import { ClientSession } from '../../src/daemon/client-session.js';
import { DomainWatches } from '../../src/daemon/domain-watches.js';
import { OutsideChanges } from '../../src/daemon/outside-changes.js';
import { makeRunningEnv } from '../drivers/qemu/support/active-env.js';
import { openSessionAt } from '../helpers/qemu-connection.js';

test('a run state change a domain watch hears is looked for at once: another connection\'s suspend and resume', async (t) => {
  const r = await makeRunningEnv(1);
  t.after(() => r.cleanup());
  await r.dom.create();
  const session = new ClientSession(1, false, () => undefined);
  t.after(() => session.close());
  const heard: string[] = [];
  const outside = new OutsideChanges(() => [session], (_uri, _uuid, seen, events) => {
    for (const [event, detail] of events) heard.push(`${seen.name} ${event} ${detail}`);
  }, 3_600_000);
  t.after(() => outside.stop());
  const watches = new DomainWatches(() => [session], () => undefined, (uri, uuid) => outside.lookSoon(uri, uuid));
  t.after(() => watches.stop());
  const conn = await openSessionAt(r.env.stateDir);
  await watches.wrapOpen(async (s) => { s.beginOpen(); s.endOpen(conn); return null; })(session, { name: 'qemu:///session', flags: 0 });
  session.registrations.set(1, { callbackID: 1, eventID: 0, domainUuid: null });
  await outside.watch(); // the baseline look
  // The session's connection attaches the domain's events.sock the first time it asks its state.
  assert.equal((await (await conn.domainLookupByName('vm')).getState()).state, DomainState.RUNNING);

  await r.dom.suspend();
  for (let i = 0; i < 500 && heard.length < 1; i++) await sleep(20);
  assert.deepEqual(heard, ['vm 3 0'], 'SUSPENDED PAUSED');
  await r.dom.resume();
  for (let i = 0; i < 500 && heard.length < 2; i++) await sleep(20);
  assert.deepEqual(heard, ['vm 3 0', 'vm 4 0'], 'RESUMED UNPAUSED');
});
