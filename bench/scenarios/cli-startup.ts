/**
 * Scenario 1: how long a command takes from spawn to exit when it does almost nothing.
 * The floor is `node -e 0` (any Node program pays it); virsh is shown beside it.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { BenchContext } from '../context.js';
import { fmtMs, fmtRatio, row, type ScenarioResult } from '../report.js';
import { repeat, type Summary } from '../stats.js';
import { timeCommand } from '../run-timed.js';

/** Times `cmd args` `runs` times after one untimed warm-up (page cache, first exec). */
async function timeStartup(cmd: string, args: string[], runs: number, env: NodeJS.ProcessEnv): Promise<Summary> {
  await timeCommand(cmd, args, { env });
  return repeat(runs, () => timeCommand(cmd, args, { env }));
}

/** Measures start-up of snapvirt and virsh against `node -e 0`. */
export async function benchCliStartup(ctx: BenchContext): Promise<ScenarioResult> {
  const stateDir = join(ctx.workDir, 'startup-state');
  await mkdir(stateDir, { recursive: true });
  const env = { ...process.env, SNAPVIRT_STATE_DIR: stateDir, LC_ALL: 'C' };
  const runs = Math.max(ctx.runs, 8);
  const node = process.execPath;
  const sv = (args: string[]): Promise<Summary> => timeStartup(node, [ctx.snapvirtBin, ...args], runs, env);

  ctx.log('startup: node -e 0');
  const floor = await timeStartup(node, ['-e', '0'], runs, env);
  ctx.log('startup: snapvirt');
  const svVersion = await sv(['version']);
  const svTestVersion = await sv(['-c', 'test:///default', 'version']);
  const svList = await sv(['-c', 'test:///default', 'list']);
  const svHelp = await sv(['help', 'snapshot-list']);
  ctx.log('startup: virsh');
  const virshVersion = await timeStartup('virsh', ['-c', 'test:///default', 'version'], runs, env);
  const virshList = await timeStartup('virsh', ['-c', 'test:///default', 'list'], runs, env);

  const base = { 'node -e 0': floor };
  return {
    title: '1. CLI start-up',
    notes: [
      'Wall time from spawn to exit of one command, after one untimed warm-up run. ' +
      '`snapvirt version` without -c connects to its default URI (qemu:///session, so it opens the SQLite store in an empty ' +
      'SNAPVIRT_STATE_DIR) as virsh would connect to its default; `-c test:///default` uses the in-memory test driver.',
    ],
    tables: [{
      caption: `CLI start-up (${runs} runs each)`,
      rows: [
        row('node -e 0 (floor)', floor),
        row('snapvirt version (qemu:///session)', svVersion, { ...base, 'virsh version': virshVersion }),
        row('snapvirt -c test:///default version', svTestVersion, { ...base, 'virsh version': virshVersion }),
        row('snapvirt -c test:///default list', svList, { ...base, 'virsh list': virshList }),
        row('snapvirt help snapshot-list (no connection)', svHelp, base),
        row('virsh -c test:///default version', virshVersion, base),
        row('virsh -c test:///default list', virshList, base),
      ],
    }],
    targets: [
      startupTarget('snapvirt version ≤ 1.3× node -e 0', svVersion, floor, virshVersion),
      startupTarget('snapvirt -c test:///default list ≤ 1.3× node -e 0', svList, floor, virshList),
    ],
  };
}

function startupTarget(target: string, s: Summary, floor: Summary, virsh: Summary): { target: string; measured: string; met: boolean } {
  const r = s.median / floor.median;
  return {
    target,
    measured: `${fmtMs(s.median)} ms vs ${fmtMs(floor.median)} ms = ${fmtRatio(r)} (virsh: ${fmtMs(virsh.median)} ms)`,
    met: r <= 1.3,
  };
}
