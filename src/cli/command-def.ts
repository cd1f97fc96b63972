/**
 * The shapes of virsh's command tables (tools/vsh.h): option definitions, command
 * definitions and command groups, plus the parsed form a handler receives.
 */
import type { Control } from './control.js';

/** vshCmdOptType: how an option takes its value. */
export type OptionType = 'bool' | 'string' | 'int' | 'data' | 'argv' | 'alias';

/** One entry of a command's option table (vshCmdOptDef). */
export interface OptionDef {
  readonly name: string;
  readonly type: OptionType;
  /** VSH_OFLAG_REQ: the option must be given (data, argv or int only). */
  readonly required?: boolean;
  /** VSH_OFLAG_REQ_OPT: the value can only be given as `--name value`, never positionally. */
  readonly namedOnly?: boolean;
  /** VSH_OFLAG_EMPTY_OK: an empty string value is accepted. */
  readonly emptyOk?: boolean;
  /** snapvirt's own option on a virsh command: accepted, but left out of `help COMMAND` (virsh's text). */
  readonly hidden?: boolean;
  /** The help text; for an alias, the option name it stands for (optionally `name=value`). */
  readonly help: string;
}

/** The result a command handler reports: true on success, as virsh's handlers do. */
export type CommandResult = Promise<boolean>;

/** One command (vshCmdDef). */
export interface CommandDef {
  readonly name: string;
  /** The one-line summary shown by `help` (info "help"). */
  readonly help: string;
  /** The longer description (info "desc"); empty prints no DESCRIPTION section. */
  readonly desc: string;
  readonly opts: readonly OptionDef[];
  /** VSH_CMD_FLAG_NOCONNECT: runs without a hypervisor connection. */
  readonly noConnect?: boolean;
  readonly handler: (ctl: Control, cmd: ParsedCommand) => CommandResult;
}

/** A group of commands as `help` lists them (vshCmdGrp). */
export interface CommandGroup {
  readonly name: string;
  readonly keyword: string;
  readonly commands: readonly CommandDef[];
}

/** One option occurrence on a parsed command line (vshCmdOpt). */
export interface ParsedOption {
  readonly def: OptionDef;
  /** The value; null for a bool option. */
  readonly data: string | null;
}

/** A parsed command with its options in command-line order (vshCmd). */
export interface ParsedCommand {
  readonly def: CommandDef;
  readonly opts: readonly ParsedOption[];
}
