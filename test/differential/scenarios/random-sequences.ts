/**
 * Seeded random sequences of snapshot and lifecycle commands on domain `test`. They probe
 * the tree rules (parents, current, re-parenting on delete, revert state changes) in
 * combinations nobody writes by hand. The generator is deterministic, so every run of the
 * suite uses the same scenarios.
 */
import type { Scenario } from '../scenario.js';
import { prng } from '../../helpers/seeded-random.js';


const names = ['n1', 'n2', 'n3', 'n4', 'n5'];

/** One random command; names may not exist yet, and then the error is compared too. */
function randomCommand(next: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const n = pick(names);
  const r = next();
  if (r < 0.36) return `snapshot-create-as test ${n}`;
  // No --running/--paused here: on a shut-off snapshot they hit a deliberate deviation
  // (snapvirt really starts the domain; see deviations.ts).
  if (r < 0.50) return `snapshot-revert test ${n}${pick(['', '', ' --force'])}`;
  if (r < 0.62) return `snapshot-delete test ${n}${pick(['', '', ' --children', ' --children-only'])}`;
  if (r < 0.68) return 'snapshot-delete test --current';
  if (r < 0.74) return `snapshot-current test ${n}`;
  if (r < 0.80) return pick(['destroy test', 'start test', 'suspend test', 'resume test']);
  if (r < 0.84) return `snapshot-create-as test ${n} --halt`;
  if (r < 0.90) return `snapshot-list test --from ${n} --descendants --name`;
  return `snapshot-info test ${n}`;
}

/** The final state of the domain and its snapshots, printed after every sequence. */
const epilogue = [
  'snapshot-list test --tree',
  'snapshot-list test --parent --topological',
  'snapshot-list test --leaves --name',
  'snapshot-current test --name',
  'domstate test --reason',
];

/** 25 random sequences of 10 to 24 commands. */
export const randomScenarios: Scenario[] = Array.from({ length: 25 }, (_, k): Scenario => {
  const next = prng(1000 + k);
  const length = 10 + Math.floor(next() * 15);
  const body = Array.from({ length }, () => randomCommand(next));
  return { name: `random: seed ${1000 + k}`, commands: [...body, ...epilogue].join('; ') };
});
