/** snapshot-revert: --running/--paused/--force, resulting domstate --reason, errors. */
import type { Scenario } from '../scenario.js';
import { afterTree, chain } from './common.js';

const d = 'revert';

/** A running snapshot `run`, a paused one `pau` and a shut-off one `off`. */
const states = 'snapshot-create-as test run; suspend test; snapshot-create-as test pau; destroy test; snapshot-create-as test off';

/** Scenarios for `snapshot-revert`. */
export const revertScenarios: Scenario[] = [
  { name: `${d}: to running snapshot from shut off`, commands: `${states}; snapshot-revert test run; domstate test --reason; snapshot-current test --name` },
  { name: `${d}: to paused snapshot`, commands: `${states}; snapshot-revert test pau; domstate test --reason` },
  { name: `${d}: to shut-off snapshot`, commands: `${states}; start test; snapshot-revert test off; domstate test --reason` },
  { name: `${d}: running snapshot --paused`, commands: `${states}; snapshot-revert test run --paused; domstate test --reason` },
  { name: `${d}: paused snapshot --running`, commands: `${states}; snapshot-revert test pau --running; domstate test --reason` },
  // Reverting the shut-off snapshot with --running/--paused is a deliberate deviation (deviations.ts).
  { name: `${d}: --force`, commands: `${states}; snapshot-revert test run --force; domstate test --reason` },
  { name: `${d}: --current`, commands: `${states}; snapshot-current test run; snapshot-revert test --current; domstate test; snapshot-current test --name` },
  { name: `${d}: --snapshotname option`, commands: `${chain}; snapshot-revert --domain test --snapshotname a; snapshot-current test --name` },
  { name: `${d}: --running --paused`, commands: `${chain}; snapshot-revert test a --running --paused` },
  { name: `${d}: neither name nor --current`, commands: `${chain}; snapshot-revert test` },
  { name: `${d}: both name and --current`, commands: `${chain}; snapshot-revert test a --current` },
  { name: `${d}: unknown snapshot`, commands: `${chain}; snapshot-revert test nope` },
  { name: `${d}: --current without current snapshot`, commands: 'snapshot-revert test --current' },
  { name: `${d}: unknown domain`, commands: 'snapshot-revert nope a' },
  { name: `${d}: sets current and new snapshots branch from it`, commands: afterTree('snapshot-revert test s6', 'snapshot-create-as test s9', 'snapshot-list test --from s6 --tree') },
  { name: `${d}: restores the snapshot's domain state after destroy`, commands: `${chain}; destroy test; snapshot-revert test b; domstate test --reason; dominfo test` },
  { name: `${d}: quiet`, quiet: true, commands: `${states}; snapshot-revert test run; domstate test --reason` },
];
