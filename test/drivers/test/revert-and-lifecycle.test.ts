/**
 * Domain state after snapshot create/revert and the lifecycle calls, as real virsh shows
 * them on test:///default (states, "from snapshot" reasons, new ids), plus libvirt's errors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  connect,
  DomainState as S,
  DomainUndefineFlags,
  DomainXMLFlags,
  ListDomainsFlags as LD,
  PausedReason,
  RunningReason,
  ShutoffReason,
  SnapshotCreateFlags as C,
  SnapshotRevertFlags as R,
  type Domain,
} from '../../../src/index.js';

const snap = (name: string) => `<domainsnapshot><name>${name}</name></domainsnapshot>`;

/** run (running), pau (paused), off (shut off) snapshots; the domain is running again after. */
async function threeStates(): Promise<Domain> {
  const conn = await connect('test:///default');
  const dom = await conn.domainLookupByName('test');
  await dom.snapshotCreateXML(snap('run'));
  await dom.suspend();
  await dom.snapshotCreateXML(snap('pau'));
  await dom.destroy();
  await dom.snapshotCreateXML(snap('off'));
  await dom.create();
  return dom;
}

async function revert(dom: Domain, name: string, flags = 0): Promise<void> {
  await (await dom.snapshotLookupByName(name)).revert(flags);
}

async function stateOf(dom: Domain): Promise<[number, number]> {
  const { state, reason } = await dom.getState();
  return [state, reason];
}

describe('snapshot state recording', () => {
  it('records running, paused and shutoff states with libvirt\'s memory defaults', async () => {
    const dom = await threeStates();
    const xml = async (n: string) => (await dom.snapshotLookupByName(n)).getXMLDesc();
    assert.match(await xml('run'), /<state>running<\/state>[\s\S]*<memory snapshot='internal'\/>/);
    assert.match(await xml('pau'), /<state>paused<\/state>[\s\S]*<memory snapshot='internal'\/>/);
    assert.match(await xml('off'), /<state>shutoff<\/state>[\s\S]*<memory snapshot='no'\/>/);
    assert.match(await xml('off'), /<disk name='vda' snapshot='internal'\/>/);
    assert.match(await xml('pau'), /<parent>\s*<name>run<\/name>\s*<\/parent>/);
  });

  it('--halt stops the domain with reason "from snapshot"', async () => {
    const dom = await (await connect('test:///default')).domainLookupByName('test');
    await dom.snapshotCreateXML(snap('h'), C.HALT);
    assert.deepEqual(await stateOf(dom), [S.SHUTOFF, ShutoffReason.FROM_SNAPSHOT]);
    assert.equal(await dom.isActive(), false);
  });
});

describe('revert state transitions', () => {
  const cases: Array<[string, string, number, number, number]> = [
    ['running domain, running snapshot', 'run', 0, S.RUNNING, RunningReason.FROM_SNAPSHOT],
    ['running domain, paused snapshot', 'pau', 0, S.PAUSED, PausedReason.FROM_SNAPSHOT],
    ['running domain, shutoff snapshot', 'off', 0, S.SHUTOFF, ShutoffReason.FROM_SNAPSHOT],
    ['running snapshot with --paused', 'run', R.PAUSED, S.PAUSED, PausedReason.FROM_SNAPSHOT],
    ['paused snapshot with --running', 'pau', R.RUNNING, S.RUNNING, RunningReason.FROM_SNAPSHOT],
    // libvirt's test driver leaves the domain shut off here; snapvirt starts it (documented).
    ['shutoff snapshot with --running', 'off', R.RUNNING, S.RUNNING, RunningReason.FROM_SNAPSHOT],
    ['shutoff snapshot with --paused', 'off', R.PAUSED, S.PAUSED, PausedReason.FROM_SNAPSHOT],
  ];
  for (const [title, name, flags, state, reason] of cases) {
    it(title, async () => {
      const dom = await threeStates();
      await revert(dom, name, flags);
      assert.deepEqual(await stateOf(dom), [state, reason]);
      assert.equal((await dom.snapshotCurrent()).getName(), name);
    });
  }

  it('a revert that (re)starts the domain gives it a new id', async () => {
    const dom = await threeStates();
    const conn = dom.getConnect();
    assert.equal((await conn.domainLookupByName('test')).getID(), 2);
    await revert(dom, 'run');
    assert.equal((await conn.domainLookupByName('test')).getID(), 3);
  });

  it('an inactive domain reverted to a shutoff snapshot keeps its state and reason', async () => {
    const dom = await threeStates();
    await dom.destroy();
    await revert(dom, 'off');
    assert.deepEqual(await stateOf(dom), [S.SHUTOFF, ShutoffReason.DESTROYED]);
  });

  it('an inactive domain reverted to a running snapshot starts', async () => {
    const dom = await threeStates();
    await dom.destroy();
    await revert(dom, 'run');
    assert.deepEqual(await stateOf(dom), [S.RUNNING, RunningReason.FROM_SNAPSHOT]);
  });

  it('revert restores the snapshot\'s domain definition', async () => {
    const conn = await connect('test:///default');
    const dom = await conn.domainLookupByName('test');
    await dom.snapshotCreateXML(snap('before'));
    await dom.destroy();
    const changed = (await dom.getXMLDesc()).replace('<memory unit=\'KiB\'>8388608</memory>', '<memory unit=\'KiB\'>1048576</memory>')
      .replace('<currentMemory unit=\'KiB\'>2097152</currentMemory>', '<currentMemory unit=\'KiB\'>1048576</currentMemory>');
    await conn.domainDefineXML(changed);
    assert.equal((await dom.getInfo()).maxMemKiB, 1048576);
    await revert(dom, 'before');
    assert.equal((await dom.getInfo()).maxMemKiB, 8388608);
  });

  it('RUNNING and PAUSED together are refused by the API', async () => {
    const dom = await threeStates();
    await assert.rejects(revert(dom, 'run', R.RUNNING | R.PAUSED), {
      code: 8, domain: 35,
      message: "Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive",
    });
  });
});

describe('transient domains', () => {
  const transientXML = "<domain type='test'><name>t1</name><memory>1024</memory><os><type>hvm</type></os></domain>";

  it('refuse --halt and inactive reverts without run or pause', async () => {
    const conn = await connect('test:///default');
    const t1 = await conn.domainCreateXML(transientXML);
    assert.equal(await t1.isPersistent(), false);
    await assert.rejects(t1.snapshotCreateXML(snap('a'), C.HALT), {
      code: 55, message: 'Requested operation is not valid: cannot halt after transient domain snapshot',
    });
    await t1.snapshotCreateXML(snap('a'));
    assert.equal(await t1.snapshotNum(), 1);
  });

  it('need --running or --paused to revert to an inactive snapshot, and then run', async () => {
    const conn = await connect('test:///default');
    const uuid = '33333333-2222-3333-4444-555555555555';
    const t1 = await conn.domainCreateXML(`<domain type='test'><name>t1</name><uuid>${uuid}</uuid><memory>1024</memory><os><type>hvm</type></os></domain>`);
    await t1.snapshotCreateXML(`<domainsnapshot><name>off</name><state>shutoff</state><creationTime>100</creationTime><domain type='test'><name>t1</name><uuid>${uuid}</uuid><memory>1024</memory><os><type>hvm</type></os></domain></domainsnapshot>`, C.REDEFINE);
    await assert.rejects(revert(t1, 'off'), {
      code: 55, message: 'Requested operation is not valid: transient domain needs to request run or pause to revert to inactive snapshot',
    });
    await revert(t1, 'off', R.RUNNING);
    assert.deepEqual(await stateOf(t1), [S.RUNNING, RunningReason.FROM_SNAPSHOT]);
    assert.equal(await t1.isPersistent(), false);
  });

  it('disappear when destroyed', async () => {
    const conn = await connect('test:///default');
    const t1 = await conn.domainCreateXML(transientXML);
    await t1.destroy();
    await assert.rejects(conn.domainLookupByName('t1'), { code: 42, message: 'Domain not found' });
  });
});

describe('domain lifecycle errors', () => {
  it('match libvirt\'s test driver', async () => {
    const dom = await (await connect('test:///default')).domainLookupByName('test');
    await assert.rejects(dom.resume(), { code: 1, message: "internal error: domain 'test' not paused" });
    await dom.destroy();
    await assert.rejects(dom.destroy(), { code: 55, message: 'Requested operation is not valid: domain is not running' });
    await assert.rejects(dom.suspend(), { code: 1, message: "internal error: domain 'test' not running" });
    await assert.rejects(dom.shutdown(), { code: 1, message: "internal error: domain 'test' not running" });
    await dom.create();
    assert.deepEqual(await stateOf(dom), [S.RUNNING, RunningReason.BOOTED]);
    await dom.suspend();
    assert.deepEqual(await stateOf(dom), [S.PAUSED, PausedReason.USER]);
    await dom.resume();
    assert.deepEqual(await stateOf(dom), [S.RUNNING, RunningReason.UNPAUSED]);
    await dom.shutdown();
    assert.deepEqual(await stateOf(dom), [S.SHUTOFF, ShutoffReason.SHUTDOWN]);
  });

  it('the default domain starts running with reason unknown and id 1', async () => {
    const conn = await connect('test:///default');
    const dom = await conn.domainLookupByID(1);
    assert.equal(dom.getName(), 'test');
    assert.deepEqual(await stateOf(dom), [S.RUNNING, 0]);
    assert.equal(conn.getType(), 'TEST');
    assert.equal(conn.getVersion(), 2);
    const extra = await dom.getExtraInfo();
    assert.equal(extra.osType, 'linux');
    assert.deepEqual(extra.security, { model: 'testSecurity', doi: '', label: 'libvirt-test', enforcing: true });
  });

  it('undefine is refused for an inactive domain with snapshots unless SNAPSHOTS_METADATA', async () => {
    const conn = await connect('test:///default');
    const dom = await conn.domainLookupByName('test');
    await dom.snapshotCreateXML(snap('a'));
    await dom.destroy();
    await assert.rejects(dom.undefine(), {
      code: 55, domain: 12, message: 'Requested operation is not valid: cannot delete inactive domain with 1 snapshots',
    });
    await dom.undefine(DomainUndefineFlags.SNAPSHOTS_METADATA);
    assert.deepEqual(await conn.listAllDomains(), []);
  });

  it('undefine of a running domain makes it transient', async () => {
    const conn = await connect('test:///default');
    const dom = await conn.domainLookupByName('test');
    await dom.snapshotCreateXML(snap('a'));
    await dom.undefine();
    assert.equal(await dom.isPersistent(), false);
    assert.equal((await conn.listAllDomains(LD.TRANSIENT)).length, 1);
    await dom.destroy();
    assert.deepEqual(await conn.listAllDomains(), []);
  });

  it('lists domains with and without snapshots', async () => {
    const conn = await connect('test:///default');
    const dom = await conn.domainLookupByName('test');
    assert.equal((await conn.listAllDomains(LD.HAS_SNAPSHOT)).length, 0);
    assert.equal((await conn.listAllDomains(LD.NO_SNAPSHOT)).length, 1);
    await dom.snapshotCreateXML(snap('a'));
    assert.equal((await conn.listAllDomains(LD.HAS_SNAPSHOT)).length, 1);
    assert.equal((await conn.listAllDomains(LD.NO_SNAPSHOT)).length, 0);
  });

  it('refuses a define that clashes with an existing name or uuid', async () => {
    const conn = await connect('test:///default');
    await assert.rejects(conn.domainDefineXML(
      "<domain type='test'><name>test</name><uuid>11111111-2222-3333-4444-555555555555</uuid><memory>1024</memory><os><type>hvm</type></os></domain>"), {
      code: 9, message: "operation failed: domain 'test' already exists with uuid 6695eb01-f6a4-8304-79aa-97f2502e193f",
    });
    await assert.rejects(conn.domainDefineXML(
      "<domain type='test'><name>other</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid><memory>1024</memory><os><type>hvm</type></os></domain>"), {
      code: 9, message: "operation failed: domain 'test' is already defined with uuid 6695eb01-f6a4-8304-79aa-97f2502e193f",
    });
  });

  it('define on a running domain changes only the persistent XML until it stops', async () => {
    const conn = await connect('test:///default');
    const dom = await conn.domainLookupByName('test');
    const changed = (await dom.getXMLDesc(DomainXMLFlags.INACTIVE)).replace("<vcpu placement='static'>2</vcpu>", "<vcpu placement='static'>4</vcpu>");
    await conn.domainDefineXML(changed);
    assert.match(await dom.getXMLDesc(), /<domain type='test' id='1'>[\s\S]*<vcpu placement='static'>2<\/vcpu>/);
    assert.match(await dom.getXMLDesc(DomainXMLFlags.INACTIVE), /<domain type='test'>[\s\S]*<vcpu placement='static'>4<\/vcpu>/);
    await dom.destroy();
    assert.equal((await dom.getInfo()).nrVirtCpu, 4);
  });

  it('refuses start of a running domain and flags the test driver lacks', async () => {
    const conn = await connect('test:///default');
    const dom = await conn.domainLookupByName('test');
    await assert.rejects(dom.create(), { code: 55, message: "Requested operation is not valid: Domain 'test' is already running" });
    await dom.destroy();
    await assert.rejects(dom.create(1), { code: 8, message: 'unsupported flags (0x1) in function testDomainCreateWithFlags' });
  });
});
