/**
 * Two (or more) shut-off domains on real qcow2 images for group snapshot tests, and a
 * picture of everything a group operation may change: each member's snapshot names and
 * definition's disk sources, the image directory (names and modes), every image chain
 * with its tags, and the group records. "Nothing changed" is one deepEqual of two pictures.
 */
import { chainOf, listingOf } from '../../../helpers/disk-state.js';
import { domainXml, makeImages, diskSourcesIn } from '../../../helpers/domain-fixture.js';
import type { QemuTestEnv } from '../../../helpers/qemu-connection.js';
import type { Domain } from '../../../../src/api/domain.js';

/** What a group operation can change, comparable with deepEqual. */
export interface GroupWorld {
  members: Record<string, { snapshots: string[]; sources: string[]; current: string | null }>;
  files: string[];
  chains: Record<string, unknown[]>;
  groups: string[];
}

/** Defines `count` shut-off domains g0, g1, … with `disks` qcow2 disks each. */
export async function defineMembers(env: QemuTestEnv, count: number, disks: number): Promise<Domain[]> {
  const doms: Domain[] = [];
  for (let i = 0; i < count; i++) {
    const images = await makeImages(env.imageDir, `g${i}`, Array.from({ length: disks }, () => 'qcow2' as const));
    doms.push(await env.conn.domainDefineXML(domainXml(`g${i}`, images)));
  }
  return doms;
}

/** The picture of `names`' domains, the image directory and the groups, through env.conn. */
export async function groupWorld(env: QemuTestEnv, names: readonly string[]): Promise<GroupWorld> {
  const world: GroupWorld = { members: {}, files: await listingOf(env.imageDir, { sizes: false }), chains: {}, groups: [] };
  for (const name of names) {
    const dom = await env.conn.domainLookupByName(name);
    const sources = diskSourcesIn(await dom.getXMLDesc());
    const snapshots = (await dom.listAllSnapshots()).map((s) => s.getName()).sort();
    const current = await dom.hasCurrentSnapshot() ? (await dom.snapshotCurrent()).getName() : null;
    world.members[name] = { snapshots, sources, current };
    for (const src of sources) world.chains[src] = await chainOf(src, 'qcow2');
  }
  world.groups = (await env.conn.listAllGroupSnapshots()).map((g) => g.getName());
  return world;
}
