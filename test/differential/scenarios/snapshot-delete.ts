/** snapshot-delete: plain, --children, --children-only, current moves, roots, errors. */
import type { Scenario } from '../scenario.js';
import { afterTree, chain } from './common.js';

const d = 'delete';

/** Scenarios for `snapshot-delete`. */
export const deleteScenarios: Scenario[] = [
  { name: `${d}: middle snapshot re-parents children`, commands: afterTree('snapshot-delete test s3', 'snapshot-list test --tree', 'snapshot-list test --parent') },
  { name: `${d}: --children`, commands: afterTree('snapshot-delete test s3 --children', 'snapshot-list test --tree') },
  { name: `${d}: --children-only`, commands: afterTree('snapshot-delete test s3 --children-only', 'snapshot-list test --tree', 'snapshot-info test s3') },
  { name: `${d}: --children-only on a leaf`, commands: afterTree('snapshot-delete test s2 --children-only', 'snapshot-list test --name') },
  { name: `${d}: current leaf moves current to parent`, commands: afterTree('snapshot-delete test s8', 'snapshot-current test --name') },
  { name: `${d}: --current`, commands: afterTree('snapshot-delete test --current', 'snapshot-current test --name', 'snapshot-list test --leaves --name') },
  { name: `${d}: root while current is elsewhere`, commands: afterTree('snapshot-delete test s1', 'snapshot-current test --name', 'snapshot-list test --roots') },
  { name: `${d}: current root leaves no current`, commands: afterTree('snapshot-current test s1', 'snapshot-delete test s1', 'snapshot-current test', 'snapshot-list test --roots --name') },
  { name: `${d}: --children on an ancestor of current`, commands: afterTree('snapshot-delete test s7 --children', 'snapshot-current test --name') },
  { name: `${d}: --children-only on an ancestor of current`, commands: afterTree('snapshot-delete test s7 --children-only', 'snapshot-current test --name') },
  { name: `${d}: --children of the root removes everything`, commands: afterTree('snapshot-delete test s1 --children', 'snapshot-list test', 'snapshot-current test') },
  { name: `${d}: --current --children-only`, commands: `${chain}; snapshot-current test a; snapshot-delete test --current --children-only; snapshot-list test --name` },
  { name: `${d}: --children --children-only`, commands: afterTree('snapshot-delete test s1 --children --children-only') },
  { name: `${d}: neither name nor --current`, commands: `${chain}; snapshot-delete test` },
  { name: `${d}: both name and --current`, commands: `${chain}; snapshot-delete test a --current` },
  { name: `${d}: unknown snapshot`, commands: `${chain}; snapshot-delete test nope` },
  { name: `${d}: --current without current snapshot`, commands: 'snapshot-delete test --current' },
  { name: `${d}: unknown domain`, commands: 'snapshot-delete nope s1' },
  { name: `${d}: --snapshotname option`, commands: `${chain}; snapshot-delete --domain test --snapshotname b; snapshot-list test --parent` },
  { name: `${d}: quiet`, quiet: true, commands: `${chain}; snapshot-delete test b; snapshot-delete test a --children; snapshot-list test` },
  { name: `${d}: then list --with-snapshot`, commands: 'snapshot-create-as test a; snapshot-delete test a; list --with-snapshot; list --without-snapshot' },
];
