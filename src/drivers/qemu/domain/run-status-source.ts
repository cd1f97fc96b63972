/**
 * The injection point through which snapvirtd's domain watch (domain-watch.ts) answers
 * the run status of running domains (runningDomainState), in place of a query-status
 * round trip on qmp.sock. Only the daemon installs one, per driver context; without it
 * (the library, the CLI) every state is asked of QEMU as before.
 */
import type { TxnContext } from '../../../txn/index.js';
import type { DomainRuntime } from './active-runtime.js';

/** A resident source of QEMUs' run status. */
export interface RunStatusSource {
  /** query-status's `status` of the QEMU `pid` in `runtimeDir` as a resident monitor hears it; undefined: ask QMP. */
  runStatus(runtimeDir: string, pid: number): Promise<string | undefined>;
}

const sources = new WeakMap<TxnContext, RunStatusSource>();

/** Makes `ctx`'s state queries use `source`. */
export function useRunStatusSource(ctx: TxnContext, source: RunStatusSource): void {
  sources.set(ctx, source);
}

/** The status `ctx`'s source hears for the QEMU of `rt`, if it has one that hears it. */
export async function residentRunStatus(ctx: TxnContext, rt: DomainRuntime): Promise<string | undefined> {
  return sources.get(ctx)?.runStatus(rt.runtimeDir, rt.pid);
}
