/**
 * Seeded random combinations of snapshot-list options on a tree with running, paused and
 * shut-off snapshots: filters, their quirky combinations (libvirt's group rules) and the
 * mutually exclusive pairs, ten listings per process.
 */
import type { Scenario } from '../scenario.js';
import { afterTree } from './common.js';

/** mulberry32: a tiny deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const options = [
  '--parent', '--roots', '--leaves', '--no-leaves', '--metadata', '--no-metadata', '--inactive', '--active',
  '--disk-only', '--internal', '--external', '--tree', '--from s3', '--from s1', '--current', '--descendants',
  '--name', '--topological',
];

/** The s1..s8 tree plus a shut-off child o1 of s8 and a paused child p1 of s3 (current p1). */
const mixedTree = afterTree('destroy test', 'snapshot-create-as test o1', 'snapshot-revert test s3', 'suspend test', 'snapshot-create-as test p1');

/** 12 scenarios of 10 random listings each. */
export const randomListScenarios: Scenario[] = Array.from({ length: 12 }, (_, k): Scenario => {
  const next = prng(5000 + k);
  const listings = Array.from({ length: 10 }, () => {
    const count = 1 + Math.floor(next() * 4);
    const chosen = new Set<string>();
    while (chosen.size < count) chosen.add(options[Math.floor(next() * options.length)]!);
    return `snapshot-list test ${[...chosen].join(' ')}`;
  });
  return { name: `random-list: seed ${5000 + k}`, commands: `${mixedTree}; ${listings.join('; ')}` };
});
