/** snapshot-info and snapshot-parent. */
import type { Scenario } from '../scenario.js';
import { afterTree, chain } from './common.js';

/** Scenarios for `snapshot-info` and `snapshot-parent`. */
export const infoParentScenarios: Scenario[] = [
  { name: 'info: middle of tree', commands: afterTree('snapshot-info test s3') },
  { name: 'info: root', commands: afterTree('snapshot-info test s1') },
  { name: 'info: --current', commands: afterTree('snapshot-info test --current') },
  { name: 'info: --snapshotname option', commands: afterTree('snapshot-info --domain test --snapshotname s6') },
  { name: 'info: shut-off snapshot', commands: 'destroy test; snapshot-create-as test off; snapshot-info test off' },
  { name: 'info: paused snapshot', commands: 'suspend test; snapshot-create-as test p; snapshot-info test p' },
  { name: 'info: neither name nor --current', commands: `${chain}; snapshot-info test` },
  { name: 'info: both name and --current', commands: `${chain}; snapshot-info test a --current` },
  { name: 'info: unknown snapshot', commands: `${chain}; snapshot-info test nope` },
  { name: 'info: --current without current snapshot', commands: 'snapshot-info test --current' },
  { name: 'info: unknown domain', commands: 'snapshot-info nope a' },
  { name: 'info: quiet', quiet: true, commands: `${chain}; snapshot-info test b` },
  { name: 'parent: of a child', commands: afterTree('snapshot-parent test s4', 'snapshot-parent test s8') },
  { name: 'parent: of a root', commands: afterTree('snapshot-parent test s1') },
  { name: 'parent: --current', commands: afterTree('snapshot-parent test --current') },
  { name: 'parent: --snapshotname option', commands: `${chain}; snapshot-parent --domain test --snapshotname c` },
  { name: 'parent: neither name nor --current', commands: `${chain}; snapshot-parent test` },
  { name: 'parent: both name and --current', commands: `${chain}; snapshot-parent test c --current` },
  { name: 'parent: unknown snapshot', commands: `${chain}; snapshot-parent test nope` },
  { name: 'parent: --current without current snapshot', commands: 'snapshot-parent test --current' },
  { name: 'parent: unknown domain', commands: 'snapshot-parent nope a' },
  { name: 'parent: after deleting the parent', commands: afterTree('snapshot-delete test s6', 'snapshot-parent test s4') },
];
