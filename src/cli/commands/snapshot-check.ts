/**
 * snapshot-check (snapvirt's own, beyond virsh): compares a domain's snapshot metadata with
 * its disks and running QEMU, prints one line per inconsistency in plain words and a
 * summary, and with --repair fixes only what is provably safe. The status is 0 when
 * nothing remains wrong, 1 otherwise (with an `error:` line, as every failing command).
 */
import type { SnapshotCheckFinding } from '../../drivers/snapshot-check-report.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { optBool } from '../option-values.js';
import { printJson } from '../output/json.js';
import { DOMAIN_OPTION } from './snapshot-common.js';

/** One output line for a finding. */
function findingLine(f: SnapshotCheckFinding): string {
  if (f.repair) return `${f.message}; ${f.repair.done ? 'repaired' : 'not repaired'}: ${f.repair.detail}`;
  return f.repairable ? `${f.message} (--repair fixes this)` : f.message;
}

function problems(n: number): string {
  return `${n} problem${n === 1 ? '' : 's'}`;
}

/** `snapshot-check DOMAIN [--repair]` */
export const snapshotCheck: CommandDef = {
  name: 'snapshot-check',
  help: 'Check snapshot metadata against the disks',
  desc: 'Compares the snapshot metadata of a domain with its disk images (backing chains,\n'
    + '    internal snapshots, overlay files, stray files) and with its running QEMU, and\n'
    + '    reports every inconsistency. With --repair, fixes only what is provably safe.',
  opts: [
    DOMAIN_OPTION,
    { name: 'repair', type: 'bool', help: 'also fix what is provably safe to fix' },
    { name: 'json', type: 'bool', help: 'print the report as JSON' },
  ],
  async handler(ctl, cmd) {
    const repair = optBool(cmd, 'repair');
    const dom = await lookupDomain(ctl, cmd);
    const report = await dom.checkSnapshots({ repair });
    if (optBool(cmd, 'json')) {
      printJson(ctl, report);
      // The status says the same as without --json: 0 only when nothing remains wrong.
      return report.findings.every((f) => f.repair?.done === true);
    }
    for (const f of report.findings) ctl.print(`${findingLine(f)}\n`);
    const name = report.domain;
    const total = report.findings.length;
    const remaining = report.findings.filter((f) => f.repair?.done !== true).length;
    if (total === 0) {
      ctl.print(`Domain '${name}': snapshot metadata and disks are consistent\n`);
      return true;
    }
    if (repair) {
      ctl.print(`Domain '${name}': ${problems(total)} found, ${total - remaining} repaired, ${remaining} not repaired\n`);
    } else {
      const fixable = report.findings.filter((f) => f.repairable).length;
      ctl.print(`Domain '${name}': ${problems(total)} found, ${fixable} of them safe to repair with --repair\n`);
    }
    if (remaining === 0) return true;
    ctl.error(`domain '${name}' has ${problems(remaining)} with its snapshots${repair ? ' that could not be repaired' : ''}`);
    return false;
  },
};
