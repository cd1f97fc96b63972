/** qemu-monitor-command: pass a QMP (or, with --hmp, a human monitor) command to the domain's QEMU. */
import type { CommandDef } from '../command-def.js';
import type { Control } from '../control.js';
import { lookupDomain } from '../domain-lookup.js';
import { CommandAborted, exclusiveOptionNames, optArgv, optBool } from '../option-values.js';
import { DOMAIN_OPTION } from './snapshot-common.js';

/** VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP */
const HMP = 1;

/**
 * virsh 9.0's QMP convenience: `CMD [ARG…]` that is not already a JSON object becomes
 * {"execute":CMD,"arguments":{ARG,…}}, the arguments being JSON members.
 */
export function wrapQmp(ctl: Control, words: readonly string[]): string {
  const joined = words.join(' ');
  if (joined.trimStart().startsWith('{')) return joined;
  const [execute, ...rest] = words;
  if (rest.length === 0) return JSON.stringify({ execute });
  const argumentText = `{${rest.join(',')}}`;
  let parsedArguments: unknown;
  try {
    parsedArguments = JSON.parse(argumentText);
  } catch {
    ctl.error(`failed to wrap arguments '${rest.join(' ')}' into a QMP command wrapper`);
    ctl.error(`internal error: cannot parse json ${argumentText}`);
    throw new CommandAborted();
  }
  return JSON.stringify({ execute, arguments: parsedArguments });
}

/** `qemu-monitor-command DOMAIN [--hmp] [--pretty] [--return-value] CMD…` */
export const qemuMonitorCommand: CommandDef = {
  name: 'qemu-monitor-command',
  help: 'QEMU Monitor Command',
  desc: 'QEMU Monitor Command',
  opts: [
    DOMAIN_OPTION,
    { name: 'hmp', type: 'bool', help: 'command is in human monitor protocol' },
    { name: 'pretty', type: 'bool', help: 'pretty-print any qemu monitor protocol output' },
    { name: 'return-value', type: 'bool', help: "extract the value of the 'return' key from the returned string" },
    { name: 'pass-fds', type: 'string', namedOnly: true, help: 'pass file descriptors N,M,... along with the command' },
    { name: 'cmd', type: 'argv', required: true, help: 'command' },
  ],
  async handler(ctl, cmd) {
    exclusiveOptionNames(ctl, cmd, 'hmp', 'pretty');
    exclusiveOptionNames(ctl, cmd, 'hmp', 'return-value');
    const dom = await lookupDomain(ctl, cmd);
    const words = optArgv(cmd, 'cmd');
    const hmp = optBool(cmd, 'hmp');
    const text = hmp ? words.join(' ') : wrapQmp(ctl, words);
    let result = await dom.qemuMonitorCommand(text, hmp ? HMP : 0);
    if (!hmp && (optBool(cmd, 'return-value') || optBool(cmd, 'pretty'))) {
      let value: unknown;
      try {
        value = JSON.parse(result);
      } catch {
        ctl.error('failed to parse JSON');
        throw new CommandAborted();
      }
      if (optBool(cmd, 'return-value')) {
        if (typeof value !== 'object' || value === null || !('return' in value)) {
          ctl.error("'return' member missing");
          throw new CommandAborted();
        }
        value = (value as { return: unknown }).return;
        result = optBool(cmd, 'pretty') ? JSON.stringify(value, null, 2) : JSON.stringify(value);
      } else {
        result = JSON.stringify(value, null, 2);
      }
    }
    // virsh 9.0 ends a reply it reformatted (--pretty, --return-value) without the newline it
    // puts after QEMU's own text (held against libvirtd).
    const reformatted = !hmp && (optBool(cmd, 'pretty') || optBool(cmd, 'return-value'));
    ctl.print(reformatted ? result : `${result}\n`);
    return true;
  },
};
