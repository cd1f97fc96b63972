/**
 * Running parsed commands as vshCommandRun does: connect when a command needs it, report
 * the command's libvirt error after it returns, print one blank line after every command
 * (unless quiet), stop at quit/exit, and return the last command's success.
 */
import { isVirError } from '../api/errors.js';
import type { ParsedCommand } from './command-def.js';
import type { Control } from './control.js';
import { CommandAborted } from './option-values.js';

/** Prints virsh's connection failure: its own line, then libvirt's cause. */
export function reportConnectFailure(ctl: Control, err: unknown): void {
  ctl.error('failed to connect to the hypervisor');
  ctl.error(err instanceof Error ? err.message : String(err));
}

/** Runs one command; true on success. */
export async function runCommand(ctl: Control, cmd: ParsedCommand): Promise<boolean> {
  if (!cmd.def.noConnect) {
    try {
      await ctl.connection();
    } catch (err) {
      reportConnectFailure(ctl, err);
      return false;
    }
  }
  try {
    return await cmd.def.handler(ctl, cmd);
  } catch (err) {
    if (err instanceof CommandAborted) return false;
    if (isVirError(err)) {
      ctl.error(err.message);
      return false;
    }
    ctl.error(err instanceof Error ? err.message : String(err));
    return false;
  }
}

/** Runs `commands` in order; the result is the last one's. */
export async function runCommands(ctl: Control, commands: readonly ParsedCommand[]): Promise<boolean> {
  let ok = true;
  for (const cmd of commands) {
    // performance loads node:perf_hooks (about 1 ms of start-up), so only under --timing.
    const before = ctl.options.timing ? performance.now() : 0;
    ok = await runCommand(ctl, cmd);
    if (cmd.def.name === 'quit' || cmd.def.name === 'exit') return ok;
    if (ctl.options.timing) ctl.print(`\n(Time: ${(performance.now() - before).toFixed(3)} ms)\n\n`);
    else ctl.printExtra('\n');
  }
  return ok;
}
