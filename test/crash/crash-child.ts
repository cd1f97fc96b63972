/**
 * The crash matrix's child process: opens qemu:///session on SNAPVIRT_STATE_DIR (which runs
 * recovery), runs one operation described as JSON in argv[2], and prints one JSON line:
 * `{"ok":true,"trace":[…]}` or `{"ok":false,"error":…,"virError":…,"trace":[…]}`. With
 * `SNAPVIRT_FAILPOINTS=…=crash` it dies by SIGKILL on the spot instead. The trace lists the
 * failpoints reached, in order, when started with the trace hook (failpoint-trace-register);
 * with SNAPVIRT_FAILPOINT_TRACE_FD3=1 they are also written to fd 3 as they are reached.
 *
 * Exit status: 0 when the operation succeeded, 2 when it failed with an error (expected
 * with `error` failpoints), 3 for anything that is not a VirError (always a bug).
 */
import { writeSync } from 'node:fs';
import { connect } from '../../src/api/connection.js';
import { VirError } from '../../src/api/errors.js';

/** One operation for the child, as JSON. */
export type ChildOp =
  | { op: 'create'; domain: string; xml: string; flags: number }
  | { op: 'revert'; domain: string; snapshot: string; flags: number }
  | { op: 'delete'; domain: string; snapshot: string; flags: number }
  | { op: 'undefine'; domain: string; flags: number }
  | { op: 'define'; xml: string }
  /** A group snapshot of `domains` (Connection.groupSnapshotCreateXML). */
  | { op: 'group-create'; domains: string[]; xml: string; flags: number }
  | { op: 'group-revert'; group: string; flags: number }
  | { op: 'group-delete'; group: string; flags: number }
  /** Only opens and closes the connection: recovery runs, nothing else. */
  | { op: 'open' }
  /** The command line, as `snapvirt ARGV…` runs it (main() of src/cli/main.ts). */
  | { op: 'cli'; argv: string[] };

/** What the child prints. */
export interface ChildReport {
  ok: boolean;
  error?: string;
  virError?: boolean;
  trace: string[];
}

const trace: string[] = [];

/** Thrown when the command line exits 1: carries what it printed on stderr. */
class CliFailure extends Error {}

async function runCli(argv: string[]): Promise<void> {
  const { main } = await import('../../src/cli/main.js');
  let err = '';
  const code = await main(argv, { out: () => undefined, err: (t) => { err += t; } });
  if (code !== 0) throw new CliFailure(err.trim() || `exit ${code}`);
}

async function runOp(op: ChildOp): Promise<void> {
  if (op.op === 'cli') return runCli(op.argv);
  const conn = await connect('qemu:///session');
  try {
    switch (op.op) {
      case 'open':
        return;
      case 'define':
        await conn.domainDefineXML(op.xml);
        return;
      case 'create':
        await (await conn.domainLookupByName(op.domain)).snapshotCreateXML(op.xml, op.flags);
        return;
      case 'revert': {
        const dom = await conn.domainLookupByName(op.domain);
        await dom.revertToSnapshot(await dom.snapshotLookupByName(op.snapshot), op.flags);
        return;
      }
      case 'delete':
        await (await (await conn.domainLookupByName(op.domain)).snapshotLookupByName(op.snapshot)).delete(op.flags);
        return;
      case 'undefine':
        await (await conn.domainLookupByName(op.domain)).undefine(op.flags);
        return;
      case 'group-create': {
        const doms = await Promise.all(op.domains.map((d) => conn.domainLookupByName(d)));
        await conn.groupSnapshotCreateXML(doms, op.xml, op.flags);
        return;
      }
      case 'group-revert':
        await (await conn.groupSnapshotLookupByName(op.group)).revert(op.flags);
        return;
      case 'group-delete':
        await (await conn.groupSnapshotLookupByName(op.group)).delete(op.flags);
        return;
    }
  } finally {
    await conn.close();
  }
}

async function main(): Promise<void> {
  // With SNAPVIRT_FAILPOINT_TRACE_FD3=1 each point is also written to fd 3 as it is reached,
  // synchronously, so the parent knows every point reached before a SIGKILL (which leaves
  // no report) and can act on one while the child runs.
  const live = process.env.SNAPVIRT_FAILPOINT_TRACE_FD3 === '1';
  (globalThis as { __snapvirtFailpointTrace?: (name: string) => void }).__snapvirtFailpointTrace = (name) => {
    trace.push(name);
    if (live) writeSync(3, `${name}\n`);
  };
  const op = JSON.parse(process.argv[2] ?? '{}') as ChildOp;
  let report: ChildReport;
  try {
    await runOp(op);
    report = { ok: true, trace };
  } catch (err) {
    report = {
      ok: false,
      error: err instanceof Error ? err.message : String(err),
      // The CLI prints its VirErrors as `error: …` lines and exits 1: a clean failure too.
      virError: err instanceof VirError || err instanceof CliFailure,
      trace,
    };
    if (!(err instanceof VirError || err instanceof CliFailure)) process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exitCode = report.ok ? 0 : report.virError ? 2 : 3;
}

// `node --test dist/test/` imports this file too: without the marker it does nothing.
if (process.env.SNAPVIRT_CRASH_CHILD === '1') await main();
