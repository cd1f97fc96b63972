/**
 * blockcommit, blockpull and blockjob, with virsh's options, checks and output
 * (tools/virsh-domain.c). snapvirt runs a block job to its end inside the API call, so
 * `--wait` changes only what is printed; progress (`--verbose`) is polled meanwhile, as
 * virsh's virshBlockJobWait does, and goes to stderr as `\rLabel: [ NN %]`.
 */
import type { Domain } from '../../api/domain.js';
import { BlockCommitFlags as C, BlockJobAbortFlags as A, BlockJobInfoFlags as I, BlockRebaseFlags as R } from '../../api/flags.js';
import type { CommandDef, OptionDef, ParsedCommand } from '../command-def.js';
import type { Control } from '../control.js';
import { lookupDomain } from '../domain-lookup.js';
import { CommandAborted, exclusiveOptionNames, optBool, optString } from '../option-values.js';
import { DOMAIN_OPTION } from './snapshot-common.js';

const PATH_OPTION: OptionDef = { name: 'path', type: 'data', required: true, help: 'fully-qualified path of disk' };
const BANDWIDTH_OPTION: OptionDef = { name: 'bandwidth', type: 'int', help: 'bandwidth limit in MiB/s' };

/** virshBlockJobTypeToString. */
const JOB_NAMES = ['Unknown job', 'Block Pull', 'Block Copy', 'Block Commit', 'Active Block Commit', 'Backup'];

function fail(ctl: Control, message: string): never {
  ctl.error(message);
  throw new CommandAborted();
}

/** A scaled numeric option (vshCommandOptScaledInt's message when malformed); 0 when absent. */
function optNumber(ctl: Control, cmd: ParsedCommand, name: string): number {
  const text = optString(ctl, cmd, name);
  if (text === undefined) return 0;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) fail(ctl, `Scaled numeric value '${text}' for <--${name}> option is malformed or out of range`);
  return value;
}

/** virshPrintJobProgress: `\rLABEL: [NNN %]` on stderr. */
function printProgress(ctl: Control, label: string, remaining: number, total: number): void {
  const pct = remaining === 0 || total === 0 ? 100 : Math.trunc(100 - (remaining * 100) / total);
  ctl.io.err(`\r${label}: [${String(pct).padStart(3)} %]`);
}

/** Runs `job` (the API call, which ends with the job), printing progress meanwhile when `verbose`. */
async function runJob(ctl: Control, dom: Domain, path: string, label: string, verbose: boolean, job: () => Promise<void>): Promise<void> {
  let running = true;
  const poll = verbose ? (async () => {
    while (running) {
      await new Promise((r) => setTimeout(r, 500));
      if (!running) break;
      const info = await dom.getBlockJobInfo(path).catch(() => null);
      if (info && running) printProgress(ctl, label, info.end - info.cur, info.end);
    }
  })() : Promise.resolve();
  try {
    await job();
  } finally {
    running = false;
    await poll;
  }
  if (verbose) printProgress(ctl, label, 0, 1);
}

/** The options virsh's blocking commands share, checked as virsh checks them. */
function blockingOf(ctl: Control, cmd: ParsedCommand, extra: boolean): { blocking: boolean; verbose: boolean } {
  if (optBool(cmd, 'timeout')) fail(ctl, '--timeout is not supported by snapvirt: a block job runs to its end inside the call');
  const blocking = optBool(cmd, 'wait') || extra;
  const verbose = optBool(cmd, 'verbose');
  return { blocking, verbose };
}

/** `blockcommit DOMAIN PATH [--base] [--shallow] [--top] [--active] [--delete] [--wait] [--verbose] [--pivot] …` */
export const blockcommitCommand: CommandDef = {
  name: 'blockcommit',
  help: 'Start a block commit operation.',
  desc: 'Commit changes from a snapshot down to its backing image.',
  opts: [
    DOMAIN_OPTION, PATH_OPTION, BANDWIDTH_OPTION,
    { name: 'base', type: 'string', help: 'path of base file to commit into (default bottom of chain)' },
    { name: 'shallow', type: 'bool', help: 'use backing file of top as base' },
    { name: 'top', type: 'string', help: 'path of top file to commit from (default top of chain)' },
    { name: 'active', type: 'bool', help: 'trigger two-stage active commit of top file' },
    { name: 'delete', type: 'bool', help: 'delete files that were successfully committed' },
    { name: 'wait', type: 'bool', help: 'wait for job to complete (with --active, wait for job to sync)' },
    { name: 'verbose', type: 'bool', help: 'with --wait, display the progress' },
    { name: 'timeout', type: 'int', help: 'implies --wait, abort if copy exceeds timeout (in seconds)' },
    { name: 'pivot', type: 'bool', help: 'implies --active --wait, pivot when commit is synced' },
    { name: 'keep-overlay', type: 'bool', help: 'implies --active --wait, quit when commit is synced' },
    { name: 'async', type: 'bool', help: "with --wait, don't wait for cancel to finish" },
    { name: 'keep-relative', type: 'bool', help: 'keep the backing chain relatively referenced' },
    { name: 'bytes', type: 'bool', help: 'the bandwidth limit is in bytes/s rather than MiB/s' },
  ],
  async handler(ctl, cmd) {
    const pivot = optBool(cmd, 'pivot');
    const keepOverlay = optBool(cmd, 'keep-overlay');
    exclusiveOptionNames(ctl, cmd, 'pivot', 'keep-overlay');
    const { blocking, verbose } = blockingOf(ctl, cmd, pivot || keepOverlay);
    if (verbose && !blocking) fail(ctl, '--verbose requires at least one of --timeout, --wait, --pivot, or --keep-overlay');
    if (optBool(cmd, 'async') && !blocking) fail(ctl, '--async requires at least one of --timeout, --wait, --pivot, or --keep-overlay');
    const active = optBool(cmd, 'active') || pivot || keepOverlay;
    // snapvirt's active commit always ends in the pivot (COMPATIBILITY.md): only --pivot says so.
    if (active && !pivot) fail(ctl, 'an active commit that does not pivot (--active without --pivot, --keep-overlay) is not supported by snapvirt: use --pivot');
    const path = optString(ctl, cmd, 'path') ?? '';
    const bandwidth = optNumber(ctl, cmd, 'bandwidth');
    let flags = 0;
    if (optBool(cmd, 'shallow')) flags |= C.SHALLOW;
    if (optBool(cmd, 'delete')) flags |= C.DELETE;
    if (active) flags |= C.ACTIVE;
    if (optBool(cmd, 'keep-relative')) flags |= C.RELATIVE;
    if (optBool(cmd, 'bytes')) flags |= C.BANDWIDTH_BYTES;
    const dom = await lookupDomain(ctl, cmd);
    const base = optString(ctl, cmd, 'base') ?? null;
    const top = optString(ctl, cmd, 'top') ?? null;
    await runJob(ctl, dom, path, 'Block commit', verbose && blocking, () => dom.blockCommit(path, base, top, bandwidth, flags));
    if (!blocking) ctl.printExtra(active ? 'Active Block Commit started' : 'Block Commit started');
    else ctl.printExtra(active ? '\nSuccessfully pivoted' : '\nCommit complete');
    return true;
  },
};

/** `blockpull DOMAIN PATH [--base] [--wait] [--verbose] …` */
export const blockpullCommand: CommandDef = {
  name: 'blockpull',
  help: 'Populate a disk from its backing image.',
  desc: 'Populate a disk from its backing image.',
  opts: [
    DOMAIN_OPTION, PATH_OPTION, BANDWIDTH_OPTION,
    { name: 'base', type: 'string', help: 'path of backing file in chain for a partial pull' },
    { name: 'wait', type: 'bool', help: 'wait for job to finish' },
    { name: 'verbose', type: 'bool', help: 'with --wait, display the progress' },
    { name: 'timeout', type: 'int', help: 'with --wait, abort if pull exceeds timeout (in seconds)' },
    { name: 'async', type: 'bool', help: "with --wait, don't wait for cancel to finish" },
    { name: 'keep-relative', type: 'bool', help: 'keep the backing chain relatively referenced' },
    { name: 'bytes', type: 'bool', help: 'the bandwidth limit is in bytes/s rather than MiB/s' },
  ],
  async handler(ctl, cmd) {
    const { blocking, verbose } = blockingOf(ctl, cmd, false);
    if (verbose && !blocking) fail(ctl, 'Option --wait is required by option --verbose');
    if (optBool(cmd, 'async') && !blocking) fail(ctl, 'Option --wait is required by option --async');
    const path = optString(ctl, cmd, 'path') ?? '';
    const bandwidth = optNumber(ctl, cmd, 'bandwidth');
    const base = optString(ctl, cmd, 'base') ?? null;
    const relative = optBool(cmd, 'keep-relative');
    // BANDWIDTH_BYTES is bit 6 in both virDomainBlockPullFlags and virDomainBlockRebaseFlags.
    let flags: number = optBool(cmd, 'bytes') ? R.BANDWIDTH_BYTES : 0;
    if (relative) flags |= R.RELATIVE;
    const dom = await lookupDomain(ctl, cmd);
    // virsh calls virDomainBlockRebase for a partial pull or --keep-relative, else virDomainBlockPull.
    const job = base !== null || relative ? () => dom.blockRebase(path, base, bandwidth, flags) : () => dom.blockPull(path, bandwidth, flags);
    await runJob(ctl, dom, path, 'Block Pull', verbose && blocking, job);
    ctl.printExtra(blocking ? '\nPull complete' : 'Block Pull started');
    return true;
  },
};

/** `blockjob DOMAIN PATH [--abort] [--async] [--pivot] [--info] [--bytes] [--raw] [--bandwidth N]` */
export const blockjobCommand: CommandDef = {
  name: 'blockjob',
  help: 'Manage active block operations',
  desc: 'Query, adjust speed, or cancel active block operations.',
  opts: [
    DOMAIN_OPTION, PATH_OPTION,
    { name: 'abort', type: 'bool', help: 'abort the active job on the specified disk' },
    { name: 'async', type: 'bool', help: "implies --abort; request but don't wait for job end" },
    { name: 'pivot', type: 'bool', help: 'implies --abort; conclude and pivot a copy or commit job' },
    { name: 'info', type: 'bool', help: 'get active job information for the specified disk' },
    { name: 'bytes', type: 'bool', help: 'get/set bandwidth in bytes rather than MiB/s' },
    { name: 'raw', type: 'bool', help: 'implies --info; output details rather than human summary' },
    { name: 'bandwidth', type: 'int', help: 'set the bandwidth limit in MiB/s' },
  ],
  async handler(ctl, cmd) {
    const abort = optBool(cmd, 'abort') || optBool(cmd, 'async') || optBool(cmd, 'pivot');
    const raw = optBool(cmd, 'raw');
    const info = optBool(cmd, 'info') || raw;
    exclusiveOptionNames(ctl, cmd, 'info', 'abort');
    exclusiveOptionNames(ctl, cmd, 'raw', 'abort');
    exclusiveOptionNames(ctl, cmd, 'info', 'async');
    exclusiveOptionNames(ctl, cmd, 'info', 'pivot');
    if (optBool(cmd, 'bandwidth')) fail(ctl, 'setting a block job\'s bandwidth is not supported by snapvirt');
    const path = optString(ctl, cmd, 'path') ?? '';
    const dom = await lookupDomain(ctl, cmd);
    if (abort && !info) {
      let flags = 0;
      if (optBool(cmd, 'async')) flags |= A.ASYNC;
      if (optBool(cmd, 'pivot')) flags |= A.PIVOT;
      await dom.blockJobAbort(path, flags);
      return true;
    }
    const bytes = optBool(cmd, 'bytes');
    const job = await dom.getBlockJobInfo(path, bytes ? I.BANDWIDTH_BYTES : 0);
    if (!job) {
      if (!raw) ctl.printExtra(`No current block job for ${path}`);
      return true;
    }
    const type = JOB_NAMES[job.type] ?? JOB_NAMES[0]!;
    if (raw) {
      ctl.print(` type=${type}\n bandwidth=${job.bandwidth}\n cur=${job.cur}\n end=${job.end}\n`);
      return true;
    }
    printProgress(ctl, type, job.end - job.cur, job.end);
    if (job.bandwidth !== 0) ctl.print(bytes ? `    Bandwidth limit: ${job.bandwidth} bytes/s` : `    Bandwidth limit: ${job.bandwidth} MiB/s`);
    ctl.print('\n');
    return true;
  },
};
