/** snapshot-current: get (XML, --name, --security-info) and set, with errors. */
import type { Scenario } from '../scenario.js';
import { afterTree, chain } from './common.js';

const d = 'current';

/** Scenarios for `snapshot-current`. */
export const currentScenarios: Scenario[] = [
  { name: `${d}: XML of current`, commands: `${chain}; snapshot-current test` },
  { name: `${d}: --name`, commands: `${chain}; snapshot-current test --name` },
  { name: `${d}: --security-info`, commands: `${chain}; snapshot-current test --security-info` },
  { name: `${d}: set by positional name`, commands: `${chain}; snapshot-current test a; snapshot-current test --name; snapshot-info test c` },
  { name: `${d}: set by --snapshotname`, commands: `${chain}; snapshot-current test --snapshotname b; snapshot-list test --tree` },
  { name: `${d}: set does not revert the domain`, commands: 'snapshot-create-as test a; destroy test; snapshot-create-as test b; snapshot-current test a; domstate test --reason' },
  { name: `${d}: set then create makes a sibling`, commands: `${chain}; snapshot-current test a; snapshot-create-as test d; snapshot-list test --tree` },
  { name: `${d}: --name with a snapshot name`, commands: `${chain}; snapshot-current test --snapshotname b --name` },
  { name: `${d}: set unknown snapshot`, commands: `${chain}; snapshot-current test nope` },
  { name: `${d}: no current snapshot`, commands: 'snapshot-current test' },
  { name: `${d}: no current snapshot --name`, commands: 'snapshot-current test --name' },
  { name: `${d}: unknown domain`, commands: 'snapshot-current nope' },
  { name: `${d}: after deleting the current root`, commands: 'snapshot-create-as test a; snapshot-delete test a; snapshot-current test' },
  { name: `${d}: on the tree, quiet`, quiet: true, commands: afterTree('snapshot-current test --name', 'snapshot-current test s3', 'snapshot-current test --name') },
];
