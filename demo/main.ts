/**
 * `npm start`: a short, realistic snapvirt session on the embedded default node
 * (test:///default, libvirt's in-memory test driver: no disks touched), run through the
 * virsh-compatible command line exactly as a user would type it; then the same on real
 * qcow2 images in a throwaway directory (demo/qemu-tour.ts).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { main } from '../src/cli/main.js';
import { runQemuTour } from './qemu-tour.js';

/** Whether qemu-img can be run here (the real-disk tour needs it). */
async function hasQemuImg(): Promise<boolean> {
  try {
    await promisify(execFile)('qemu-img', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** One step of the tour: a sentence for the reader, then the commands it runs. */
interface Step {
  say: string;
  commands: string[];
}

const TOUR: Step[] = [
  {
    say: 'The embedded default node has one running domain, "test", with one disk (vda).',
    commands: ['list --all', 'domblklist test'],
  },
  {
    say: 'Build a snapshot tree: base -> app -> (tuned | experiment). Reverting to "app" before "experiment" makes it a sibling of "tuned".',
    commands: [
      'snapshot-create-as test base "clean install"',
      'snapshot-create-as test app "application deployed"',
      'snapshot-create-as test tuned "kernel parameters tuned"',
      'snapshot-revert test app',
      'snapshot-create-as test experiment "risky change" --atomic',
    ],
  },
  {
    say: 'List it as a tree, and as a table with parents; "experiment" is current.',
    commands: ['snapshot-list test --tree', 'snapshot-list test --parent', 'snapshot-current test --name'],
  },
  {
    say: 'Revert to "tuned", paused: the domain state follows the snapshot.',
    commands: ['snapshot-revert test tuned --paused', 'domstate test --reason', 'snapshot-info test tuned'],
  },
  {
    say: 'Bad requests are rejected before anything changes: --current without --redefine, an invalid disk mode, an unknown snapshot. The tree is untouched.',
    commands: [
      'snapshot-create test --current',
      'snapshot-create-as test bad --diskspec vda,snapshot=bogus',
      'snapshot-revert test no-such-snapshot',
      'snapshot-list test --tree',
    ],
  },
  {
    say: 'Delete "app" with all its children: only "base" remains, and it becomes current.',
    commands: ['snapshot-delete test app --children', 'snapshot-list test --tree', 'snapshot-current test --name'],
  },
];

/**
 * The whole tour is one batch (`snapvirt 'cmd1; cmd2'`), so the in-memory node keeps its
 * state from step to step, as it would in one virsh session. Texts are single-quoted for
 * virsh's batch grammar, so they must not contain a single quote themselves.
 */
function tourBatch(): string {
  const lines: string[] = [];
  for (const [index, step] of TOUR.entries()) {
    lines.push(`echo '## ${index + 1}. ${step.say}'`);
    for (const command of step.commands) lines.push(`echo '$ snapvirt ${command}'`, command);
  }
  return lines.join('; ');
}

process.stdout.write('snapvirt tour on test:///default (virsh-compatible commands)\n\n');
await main(['-c', 'test:///default', tourBatch()]);
if (await hasQemuImg()) {
  await runQemuTour();
} else {
  process.stdout.write('\n(qemu-img is not installed: the real-disk tour is skipped; `apt-get install qemu-utils` adds it)\n');
}
process.exitCode = 0;
