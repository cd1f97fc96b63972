/**
 * Domain lifecycle events through a remote connection, from a real snapvirtd: a
 * registration for every domain hears the changes another client makes on qemu:///session
 * (define, undefine), one for a single domain hears only that domain, a deregistered one
 * hears nothing more, and a local connection refuses to register (NO_SUPPORT). Each
 * expectation waits for the event itself; an event that must not arrive is checked after
 * a later event on the same connection, which the daemon sends after it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, DomainEventID, DomainEventType, VirError, type Domain } from '../../../src/index.js';
import { daemonUri, startSnapvirtd, type RunningDaemon } from '../../helpers/snapvirtd.js';
import { makeTempDir, type TempDir } from '../../helpers/temp-dir.js';

interface Heard { name: string; event: number; detail: number }

/** A callback that records what it hears, and a way to wait for the n-th event. */
function recorder(): { heard: Heard[]; callback: (dom: Domain, event: number, detail: number) => void; next(count: number): Promise<void> } {
  const heard: Heard[] = [];
  const waiters: { count: number; resolve(): void }[] = [];
  return {
    heard,
    callback: (dom, event, detail) => {
      heard.push({ name: dom.getName(), event, detail });
      for (const w of waiters.filter((x) => heard.length >= x.count)) w.resolve();
    },
    next: (count) => new Promise<void>((resolve) => {
      if (heard.length >= count) resolve();
      else waiters.push({ count, resolve });
    }),
  };
}

const domainXml = (name: string): string =>
  `<domain type='qemu'><name>${name}</name><uuid>0000000${name}-0000-0000-0000-000000000000</uuid><memory>131072</memory><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>`;

describe('domain lifecycle events through a remote connection', () => {
  let tmp: TempDir;
  let daemon: RunningDaemon;
  before(async () => {
    tmp = await makeTempDir('snapvirt-remote-events-');
    daemon = await startSnapvirtd(tmp.path, { SNAPVIRT_STATE_DIR: join(tmp.path, 'state') });
  });
  after(async () => {
    await daemon.stop();
    await tmp.cleanup();
  });

  it("hears another client's define and undefine, per domain and for all, and nothing after deregistering", async () => {
    const uri = daemonUri('qemu:///session', daemon.socket);
    const listener = await connect(uri);
    const actor = await connect(uri);
    try {
      const all = recorder();
      const allID = await listener.domainEventRegisterAny(null, DomainEventID.LIFECYCLE, all.callback);
      const a = await actor.domainDefineXML(domainXml('a'));
      await all.next(1);
      assert.deepEqual(all.heard, [{ name: 'a', event: DomainEventType.DEFINED, detail: 0 }]);

      const onlyA = recorder();
      const onlyAID = await listener.domainEventRegisterAny(await listener.domainLookupByName('a'), DomainEventID.LIFECYCLE, onlyA.callback);
      await actor.domainDefineXML(domainXml('b'));
      await actor.domainDefineXML(domainXml('a'));
      await all.next(3);
      await onlyA.next(1);
      assert.deepEqual(all.heard.slice(1), [{ name: 'b', event: DomainEventType.DEFINED, detail: 0 }, { name: 'a', event: DomainEventType.DEFINED, detail: 1 }]);
      assert.deepEqual(onlyA.heard, [{ name: 'a', event: DomainEventType.DEFINED, detail: 1 }]);

      await listener.domainEventDeregisterAny(allID);
      await a.undefine();
      await onlyA.next(2);
      assert.deepEqual(onlyA.heard[1], { name: 'a', event: DomainEventType.UNDEFINED, detail: 0 });
      assert.equal(all.heard.length, 3, 'a deregistered callback hears nothing more');
      await listener.domainEventDeregisterAny(onlyAID);
      await assert.rejects(listener.domainEventDeregisterAny(onlyAID), (err: unknown) =>
        err instanceof VirError && err.code === 8 && err.message === `invalid argument: unable to find callback ID ${onlyAID}`);
    } finally {
      await listener.close();
      await actor.close();
    }
  });
});
