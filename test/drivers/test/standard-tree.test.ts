/**
 * The standard s1..s8 tree of libvirt's tests/virsh-snapshot, built through the public API
 * on test:///default, with the listings, deletes and current moves real virsh shows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect, SnapshotDeleteFlags as D, SnapshotListFlags as L, type Domain } from '../../../src/index.js';

/** create s1, s3, s2; revert s3; create s6, s5; revert s6; create s4; revert s1; create s7, s8. */
async function standardTree(): Promise<Domain> {
  const conn = await connect('test:///default');
  const dom = await conn.domainLookupByName('test');
  const create = (name: string) => dom.snapshotCreateXML(`<domainsnapshot><name>${name}</name></domainsnapshot>`);
  const revert = async (name: string) => (await dom.snapshotLookupByName(name)).revert();
  await create('s1'); await create('s3'); await create('s2');
  await revert('s3'); await create('s6'); await create('s5');
  await revert('s6'); await create('s4');
  await revert('s1'); await create('s7'); await create('s8');
  return dom;
}

const names = async (dom: Domain, flags = 0) => (await dom.listAllSnapshots(flags)).map((s) => s.getName());
const sorted = (list: string[]) => [...list].sort();
const childNames = async (dom: Domain, name: string, flags = 0) =>
  (await dom.snapshotLookupByName(name)).listChildrenNames(flags);

describe('standard snapshot tree on test:///default', () => {
  it('lists topologically in libvirt order and sets s8 current', async () => {
    const dom = await standardTree();
    assert.deepEqual(await names(dom, L.TOPOLOGICAL), ['s1', 's7', 's8', 's3', 's6', 's4', 's5', 's2']);
    assert.equal((await dom.snapshotCurrent()).getName(), 's8');
    assert.equal(await dom.snapshotNum(), 8);
  });

  it('filters roots, leaves and no-leaves', async () => {
    const dom = await standardTree();
    assert.deepEqual(await names(dom, L.ROOTS), ['s1']);
    assert.deepEqual(sorted(await names(dom, L.LEAVES)), ['s2', 's4', 's5', 's8']);
    assert.deepEqual(sorted(await names(dom, L.NO_LEAVES)), ['s1', 's3', 's6', 's7']);
    assert.deepEqual(await names(dom, L.LEAVES | L.NO_LEAVES), []);
    assert.equal((await names(dom, L.METADATA | L.NO_METADATA)).length, 8);
    assert.deepEqual(await names(dom, L.NO_METADATA), []);
    assert.equal((await names(dom, L.INTERNAL | L.EXTERNAL)).length, 8);
    assert.equal((await names(dom, L.INTERNAL)).length, 8);
    assert.deepEqual(await names(dom, L.EXTERNAL), []);
    assert.equal((await names(dom, L.ACTIVE)).length, 8);
    assert.deepEqual(await names(dom, L.INACTIVE), []);
  });

  it('lists children and descendants of s3', async () => {
    const dom = await standardTree();
    assert.deepEqual(await childNames(dom, 's3'), ['s6', 's2']);
    assert.deepEqual(sorted(await childNames(dom, 's3', L.DESCENDANTS)), ['s2', 's4', 's5', 's6']);
    assert.deepEqual(await childNames(dom, 's3', L.DESCENDANTS | L.TOPOLOGICAL), ['s6', 's4', 's5', 's2']);
    const s3 = await dom.snapshotLookupByName('s3');
    assert.equal(await s3.numChildren(), 2);
    assert.equal(await s3.numChildren(L.DESCENDANTS), 4);
    assert.equal((await s3.getParent()).getName(), 's1');
  });

  it('plain delete of s3 re-parents s6 and s2 under s1, ahead of s7', async () => {
    const dom = await standardTree();
    await (await dom.snapshotLookupByName('s3')).delete();
    assert.deepEqual(await names(dom, L.TOPOLOGICAL), ['s1', 's6', 's4', 's5', 's2', 's7', 's8']);
    assert.deepEqual(await childNames(dom, 's1'), ['s6', 's2', 's7']);
    assert.equal((await (await dom.snapshotLookupByName('s2')).getParent()).getName(), 's1');
    assert.equal((await dom.snapshotCurrent()).getName(), 's8');
  });

  it('--children s3 removes s3 and its four descendants; --children-only keeps s3', async () => {
    const dom = await standardTree();
    await (await dom.snapshotLookupByName('s3')).delete(D.CHILDREN);
    assert.deepEqual(sorted(await names(dom)), ['s1', 's7', 's8']);
    const dom2 = await standardTree();
    await (await dom2.snapshotLookupByName('s3')).delete(D.CHILDREN_ONLY);
    assert.deepEqual(sorted(await names(dom2)), ['s1', 's3', 's7', 's8']);
    assert.equal(await (await dom2.snapshotLookupByName('s3')).numChildren(), 0);
  });

  it('deleting the current s8 makes s7 current', async () => {
    const dom = await standardTree();
    await (await dom.snapshotLookupByName('s8')).delete();
    assert.equal((await dom.snapshotCurrent()).getName(), 's7');
  });

  it('deleting the root s1 leaves roots s3 and s7 and, from current s1, no current', async () => {
    const dom = await standardTree();
    await (await dom.snapshotLookupByName('s1')).revert();
    await (await dom.snapshotLookupByName('s1')).delete();
    assert.deepEqual(sorted(await names(dom, L.ROOTS)), ['s3', 's7']);
    assert.equal(await dom.hasCurrentSnapshot(), false);
    await assert.rejects(dom.snapshotCurrent(), {
      code: 72, domain: 12, message: 'Domain snapshot not found: the domain does not have a current snapshot',
    });
    await assert.rejects((await dom.snapshotLookupByName('s3')).getParent(), {
      code: 72, message: "Domain snapshot not found: snapshot 's3' does not have a parent",
    });
  });

  it('--children on an ancestor of current moves current to its parent', async () => {
    const dom = await standardTree();
    await (await dom.snapshotLookupByName('s4')).revert();
    await (await dom.snapshotLookupByName('s3')).delete(D.CHILDREN);
    assert.equal((await dom.snapshotCurrent()).getName(), 's1');
  });

  it('--children-only on an ancestor of current makes the kept snapshot current', async () => {
    const dom = await standardTree();
    await (await dom.snapshotLookupByName('s4')).revert();
    await (await dom.snapshotLookupByName('s3')).delete(D.CHILDREN_ONLY);
    assert.equal((await dom.snapshotCurrent()).getName(), 's3');
  });

  it('metadata-only delete forgets the snapshot like a plain delete (snapvirt extension)', async () => {
    const dom = await standardTree();
    await (await dom.snapshotLookupByName('s6')).delete(D.METADATA_ONLY);
    assert.deepEqual(await childNames(dom, 's3'), ['s4', 's5', 's2']);
    await assert.rejects(dom.snapshotLookupByName('s6'), { code: 72 });
  });

  it('refuses a duplicate name with libvirt\'s message and changes nothing', async () => {
    const dom = await standardTree();
    await assert.rejects(dom.snapshotCreateXML('<domainsnapshot><name>s1</name></domainsnapshot>'), {
      code: 9, domain: 20, message: 'operation failed: domain moment s1 already exists',
    });
    assert.equal(await dom.snapshotNum(), 8);
    assert.equal((await dom.snapshotCurrent()).getName(), 's8');
  });

  it('reports an unknown snapshot with code 72', async () => {
    const dom = await standardTree();
    await assert.rejects(dom.snapshotLookupByName('nope'), {
      code: 72, domain: 12, message: "Domain snapshot not found: no domain snapshot with matching name 'nope'",
    });
  });
});
