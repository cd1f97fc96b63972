/** virsh's help texts (vshCmddefHelp, vshCmdGrpHelp, cmdHelp's grouped listing). */
import type { CommandDef, CommandGroup } from './command-def.js';

/** `help COMMAND`: NAME, SYNOPSIS, DESCRIPTION and OPTIONS, exactly as virsh lays them out. */
export function formatCommandHelp(command: CommandDef): string {
  const def = { ...command, opts: command.opts.filter((opt) => !opt.hidden) };
  let out = `  NAME\n    ${def.name} - ${def.help}\n\n  SYNOPSIS\n    ${def.name}`;
  // shortopt: once a value option may be given positionally, ARGV shows its --name as optional.
  let shortopt = false;
  for (const opt of def.opts) {
    let text: string;
    switch (opt.type) {
      case 'bool': text = `[--${opt.name}]`; break;
      case 'int':
        text = opt.required ? `<${opt.name}>` : `[--${opt.name} <number>]`;
        if (!opt.namedOnly) shortopt = true;
        break;
      case 'string':
        text = `[--${opt.name} <string>]`;
        if (!opt.namedOnly) shortopt = true;
        break;
      case 'data':
        text = opt.required ? `<${opt.name}>` : `[<${opt.name}>]`;
        if (!opt.namedOnly) shortopt = true;
        break;
      case 'argv':
        if (shortopt) text = opt.required ? `{[--${opt.name}] <string>}...` : `[[--${opt.name}] <string>]...`;
        else text = opt.required ? `<${opt.name}>...` : `[<${opt.name}>]...`;
        break;
      case 'alias': continue;
    }
    out += ` ${text}`;
  }
  out += '\n';
  if (def.desc !== '') out += `\n  DESCRIPTION\n    ${def.desc}\n`;
  if (def.opts.length > 0) {
    out += '\n  OPTIONS\n';
    for (const opt of def.opts) {
      let label: string;
      switch (opt.type) {
        case 'bool': label = `--${opt.name}`; break;
        case 'int': label = opt.required ? `[--${opt.name}] <number>` : `--${opt.name} <number>`; break;
        case 'string': label = `--${opt.name} <string>`; break;
        case 'data': label = `[--${opt.name}] <string>`; break;
        case 'argv': label = shortopt ? `[--${opt.name}] <string>` : `<${opt.name}>`; break;
        case 'alias': continue;
      }
      out += `    ${label.padEnd(15)}  ${opt.help}\n`;
    }
  }
  return `${out}\n`;
}

/**
 * One group's listing: ` NAME (help keyword 'KW'):` then one line per command. virsh's
 * `--help` (vshUsage) prints the header without the colon, `help` (cmdHelp) with it.
 */
export function formatGroupHelp(group: CommandGroup, headerColon = true): string {
  let out = ` ${group.name} (help keyword '${group.keyword}')${headerColon ? ':' : ''}\n`;
  for (const cmd of group.commands) out += `    ${cmd.name.padEnd(30)} ${cmd.help}\n`;
  return out;
}

/** `help` without arguments: every group, each followed by a blank line. */
export function formatAllHelp(groups: readonly CommandGroup[]): string {
  return `Grouped commands:\n\n${groups.map((g) => `${formatGroupHelp(g)}\n`).join('')}`;
}
