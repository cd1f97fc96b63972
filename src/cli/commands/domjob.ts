/** domjobinfo and domjobabort: a domain's running job, as virsh 9.0 prints it, and its abort. */
import type { CommandDef } from '../command-def.js';
import type { Control } from '../control.js';
import { lookupDomain } from '../domain-lookup.js';
import { optBool } from '../option-values.js';
import { DOMAIN_OPTION } from './snapshot-common.js';
import { isVirError, VirErrorCode } from '../../api/errors.js';
import type { Domain } from '../../api/domain.js';
import { DomainJobStatsFlags, DomainJobType, type DomainJobInfo, type JobStatParam } from '../../drivers/domain-job-info.js';

/** virDomainJobType as virsh names it. */
const JOB_TYPES = ['None', 'Bounded', 'Unbounded', 'Completed', 'Failed', 'Cancelled'];
/** virDomainJobOperation as virsh names it. */
const OPERATIONS = ['Unknown', 'Start', 'Save', 'Restore', 'Incoming migration', 'Outgoing migration', 'Snapshot',
  'Snapshot revert', 'Dump', 'Backup', 'Snapshot delete'];

/** vshPrettyCapacity: a byte count in the largest binary unit below it. */
export function prettyCapacity(bytes: number): [number, string] {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (i < units.length - 1 && bytes >= 1024 ** (i + 1)) i++;
  return [bytes / 1024 ** i, units[i]!];
}

const line = (label: string, value: string): string => `${label.padEnd(17)} ${value}\n`;
const ms = (label: string, value: number): string => line(label, `${String(value).padEnd(12)} ms`);
function size(label: string, bytes: number, suffix = ''): string {
  const [v, unit] = prettyCapacity(bytes);
  return line(label, `${v.toFixed(3)} ${unit}${suffix}`);
}

/** virshDomainJobStatsToDomainJobInfo: the stats' fields into the old structure. */
function infoOf(type: number, params: readonly JobStatParam[]): DomainJobInfo {
  const get = (f: string): number => params.find((p) => p.field === f)?.value ?? 0;
  return {
    type, timeElapsed: get('time_elapsed'), timeRemaining: get('time_remaining'),
    dataTotal: get('data_total'), dataProcessed: get('data_processed'), dataRemaining: get('data_remaining'),
    memTotal: get('memory_total'), memProcessed: get('memory_processed'), memRemaining: get('memory_remaining'),
    fileTotal: get('disk_total'), fileProcessed: get('disk_processed'), fileRemaining: get('disk_remaining'),
  };
}

/** virDomainGetJobStats, or virDomainGetJobInfo from a driver without it (as virsh falls back). */
async function readJob(ctl: Control, dom: Domain, flags: number, raw: boolean): Promise<{ info: DomainJobInfo; params: JobStatParam[] } | undefined> {
  try {
    const stats = await dom.getJobStats(flags);
    return { info: infoOf(stats.type, stats.params), params: stats.params };
  } catch (err) {
    if (!isVirError(err) || err.code !== VirErrorCode.NO_SUPPORT) throw err;
    if (flags !== 0 || raw) {
      ctl.error('Optional flags or --rawstats are not supported by the daemon');
      return undefined;
    }
    return { info: await dom.getJobInfo(), params: [] };
  }
}

/** `domjobinfo DOMAIN [--completed] [--keep-completed] [--anystats] [--rawstats]` */
export const domjobinfoCommand: CommandDef = {
  name: 'domjobinfo',
  help: 'domain job information',
  desc: 'Returns information about jobs running on a domain.',
  opts: [
    DOMAIN_OPTION,
    { name: 'completed', type: 'bool', help: 'return statistics of a recently completed job' },
    { name: 'keep-completed', type: 'bool', help: "don't destroy statistics of a recently completed job when reading" },
    { name: 'anystats', type: 'bool', help: 'print statistics for any kind of job (even failed ones)' },
    { name: 'rawstats', type: 'bool', help: 'print the raw data returned by libvirt' },
  ],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd);
    const completed = optBool(cmd, 'completed');
    const flags = (completed ? DomainJobStatsFlags.COMPLETED : 0) | (optBool(cmd, 'keep-completed') ? DomainJobStatsFlags.KEEP_COMPLETED : 0);
    const raw = optBool(cmd, 'rawstats');
    const job = await readJob(ctl, dom, flags, raw);
    if (!job) return false;
    const { info, params } = job;
    if (raw) {
      ctl.print(`Job type: ${info.type}\n\n`);
      for (const p of params) ctl.print(`${p.field}: ${p.value}\n`);
      return true;
    }
    ctl.print(line('Job type:', (JOB_TYPES[info.type] ?? 'unknown').padEnd(12)));
    if (!optBool(cmd, 'anystats') && info.type !== DomainJobType.BOUNDED && info.type !== DomainJobType.UNBOUNDED &&
      (!completed || info.type !== DomainJobType.COMPLETED)) return true;
    const op = params.find((p) => p.field === 'operation')?.value ?? 0;
    ctl.print(line('Operation:', (OPERATIONS[op] ?? 'unknown').padEnd(12)));
    ctl.print(ms('Time elapsed:', info.timeElapsed));
    if (info.type === DomainJobType.BOUNDED) ctl.print(ms('Time remaining:', info.timeRemaining));
    if (info.dataTotal || info.dataRemaining || info.dataProcessed) {
      ctl.print(size('Data processed:', info.dataProcessed) + size('Data remaining:', info.dataRemaining) + size('Data total:', info.dataTotal));
    }
    if (info.memTotal || info.memRemaining || info.memProcessed) {
      ctl.print(size('Memory processed:', info.memProcessed) + size('Memory remaining:', info.memRemaining) + size('Memory total:', info.memTotal));
    }
    const bps = params.find((p) => p.field === 'memory_bps')?.value;
    if (bps) ctl.print(size('Memory bandwidth:', bps, '/s'));
    return true;
  },
};

/** `domjobabort DOMAIN [--postcopy]` */
export const domjobabortCommand: CommandDef = {
  name: 'domjobabort',
  help: 'abort active domain job',
  desc: 'Aborts the currently running domain job',
  opts: [DOMAIN_OPTION, { name: 'postcopy', type: 'bool', help: 'interrupt post-copy migration' }],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd);
    if (optBool(cmd, 'postcopy')) {
      // snapvirt runs no post-copy migration: libvirt's answer without such a job.
      ctl.error('Requested operation is not valid: current job is not outgoing migration in post-copy mode');
      return false;
    }
    await dom.abortJob();
    return true;
  },
};
