/**
 * Reading option values from a parsed command, with virsh's messages
 * (vshCommandOptBool, vshCommandOptStringReq, vshCommandOptArgv, VSH_EXCLUSIVE_OPTIONS).
 */
import type { ParsedCommand } from './command-def.js';
import type { Control } from './control.js';

/** Thrown by a handler after it has printed its own error: the command failed, nothing more to say. */
export class CommandAborted extends Error {
  constructor() { super('command aborted'); }
}

/** True when the option was given (for value options too, as vshCommandOptBool). */
export function optBool(cmd: ParsedCommand, name: string): boolean {
  return cmd.opts.some((o) => o.def.name === name);
}

/**
 * The option's value, or undefined when absent (vshCommandOptStringReq). An empty value
 * is refused unless the option allows it: `Failed to get option 'NAME': Option argument is empty`.
 */
export function optString(ctl: Control, cmd: ParsedCommand, name: string): string | undefined {
  const found = cmd.opts.find((o) => o.def.name === name);
  if (!found || found.data === null) return undefined;
  if (found.data === '' && !found.def.emptyOk) {
    ctl.error(`Failed to get option '${name}': Option argument is empty`);
    throw new CommandAborted();
  }
  return found.data;
}

/** The option's value without complaints: undefined when absent or empty (vshCommandOptStringQuiet). */
export function optStringQuiet(cmd: ParsedCommand, name: string): string | undefined {
  const found = cmd.opts.find((o) => o.def.name === name);
  if (!found || found.data === null) return undefined;
  if (found.data === '' && !found.def.emptyOk) return undefined;
  return found.data;
}

/** Every value of the ARGV option, in order (vshCommandOptArgv). */
export function optArgv(cmd: ParsedCommand, name: string): string[] {
  return cmd.opts.filter((o) => o.def.name === name && o.def.type === 'argv').map((o) => o.data ?? '');
}

/** VSH_EXCLUSIVE_OPTIONS_EXPR: refuses two options given together. */
export function exclusiveOptions(ctl: Control, nameA: string, a: boolean, nameB: string, b: boolean): void {
  if (a && b) {
    ctl.error(`Options --${nameA} and --${nameB} are mutually exclusive`);
    throw new CommandAborted();
  }
}

/** VSH_EXCLUSIVE_OPTIONS: as exclusiveOptions, with presence read from the command. */
export function exclusiveOptionNames(ctl: Control, cmd: ParsedCommand, nameA: string, nameB: string): void {
  exclusiveOptions(ctl, nameA, optBool(cmd, nameA), nameB, optBool(cmd, nameB));
}
