/**
 * `--json`, snapvirt's own (beyond virsh): the commands scripts read (list, dominfo,
 * domstate, snapshot-list, snapshot-info, snapshot-current, snapshot-check) print one JSON
 * document with the stable keys docs/cli.md lists, instead of virsh's layout. The option
 * is left out of `help COMMAND` for virsh's commands, whose help stays virsh's own.
 */
import type { OptionDef } from '../command-def.js';
import type { Control } from '../control.js';

/** The `--json` option of a command virsh also has (hidden from its help). */
export const JSON_OPTION: OptionDef = { name: 'json', type: 'bool', hidden: true, help: 'print JSON (snapvirt only)' };

/** Prints `value` as one JSON document (two-space indented, newline-terminated). */
export function printJson(ctl: Control, value: unknown): void {
  ctl.print(`${JSON.stringify(value, null, 2)}\n`);
}
