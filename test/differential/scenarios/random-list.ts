/**
 * Seeded random combinations of snapshot-list options on a tree with running, paused and
 * shut-off snapshots: filters, their quirky combinations (libvirt's group rules) and the
 * mutually exclusive pairs, ten listings per process.
 */
import type { Scenario } from '../scenario.js';
import { afterTree } from './common.js';
import { prng } from '../../helpers/seeded-random.js';


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
