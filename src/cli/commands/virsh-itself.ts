/** The shell's own commands (virsh's "Virsh itself" group): help, echo, quit, exit, connect, cd, pwd. */
import { homedir } from 'node:os';
import { isVirError } from '../../api/errors.js';
import type { CommandDef } from '../command-def.js';
import { splitCommaList } from '../command-line.js';
import { formatAllHelp, formatCommandHelp, formatGroupHelp } from '../help-format.js';
import { escapeShell, escapeXml } from '../output/escape.js';
import { exclusiveOptions, optArgv, optBool, optString, optStringQuiet } from '../option-values.js';
import { strerror } from '../../api/errno-text.js';

/** `help [COMMAND | GROUP]` */
export const helpCommand: CommandDef = {
  name: 'help',
  help: 'print help',
  desc: 'Prints global help, command specific help, or help for a\n    group of related commands',
  noConnect: true,
  opts: [{ name: 'command', type: 'string', help: 'Prints global help, command specific help, or help for a group of related commands' }],
  async handler(ctl, cmd) {
    const { loadAllCommands, findCommand } = await import('../registry.js');
    const groups = await loadAllCommands();
    const name = optStringQuiet(cmd, 'command');
    if (name === undefined) {
      ctl.print(formatAllHelp(groups));
      return true;
    }
    const def = findCommand(name);
    if (def) {
      ctl.print(formatCommandHelp(def));
      return true;
    }
    const group = groups.find((g) => g.name === name || g.keyword === name);
    if (group) {
      ctl.print(formatGroupHelp(group));
      return true;
    }
    ctl.error(`command or command group '${name}' doesn't exist`);
    return false;
  },
};

/** `echo [--shell|--xml|--split] [--err] [STRING]…` */
export const echoCommand: CommandDef = {
  name: 'echo',
  help: 'echo arguments. Used for internal testing.',
  desc: 'Echo back arguments, possibly with quoting. Used for internal testing.',
  noConnect: true,
  opts: [
    { name: 'shell', type: 'bool', help: 'escape for shell use' },
    { name: 'xml', type: 'bool', help: 'escape for XML use' },
    { name: 'split', type: 'bool', help: "split each argument on ','; ',,' is an escape sequence" },
    { name: 'err', type: 'bool', help: 'output to stderr' },
    { name: 'str', type: 'alias', help: 'string' },
    { name: 'hi', type: 'alias', help: 'string=hello' },
    { name: 'string', type: 'argv', help: 'arguments to echo' },
  ],
  async handler(ctl, cmd) {
    const shell = optBool(cmd, 'shell');
    const xml = optBool(cmd, 'xml');
    const split = optBool(cmd, 'split');
    exclusiveOptions(ctl, 'shell', shell, 'xml', xml);
    exclusiveOptions(ctl, 'shell', shell, 'split', split);
    exclusiveOptions(ctl, 'xml', xml, 'split', split);
    let buf = '';
    for (const arg of optArgv(cmd, 'string')) {
      if (xml) buf += escapeXml(arg);
      else if (shell) buf += escapeShell(arg);
      else if (split) for (const part of splitCommaList(arg)) buf += `${part}\n`;
      else buf += arg;
      buf += ' ';
    }
    // virBufferTrim(" "): one trailing space goes; an empty buffer prints nothing.
    buf = buf.replace(/ $/, '');
    if (buf === '') return true;
    if (optBool(cmd, 'err')) ctl.error(buf);
    else ctl.print(buf);
    return true;
  },
};

function quitCommand(name: string): CommandDef {
  return {
    name,
    help: 'quit this interactive terminal',
    desc: '',
    noConnect: true,
    opts: [],
    async handler(ctl) {
      ctl.stopRequested = true;
      return true;
    },
  };
}

/** `quit`: leave the shell or stop the batch. */
export const quit = quitCommand('quit');
/** `exit`: the same as quit. */
export const exit = quitCommand('exit');

/** `connect [URI] [--readonly]` */
export const connectCommand: CommandDef = {
  name: 'connect',
  help: '(re)connect to hypervisor',
  desc: 'Connect to local hypervisor. This is built-in command after shell start up.',
  noConnect: true,
  opts: [
    { name: 'name', type: 'string', emptyOk: true, help: 'hypervisor connection URI' },
    { name: 'readonly', type: 'bool', help: 'read-only connection' },
  ],
  async handler(ctl, cmd) {
    const name = optString(ctl, cmd, 'name');
    const previous = ctl.options.uri;
    const previousReadonly = ctl.options.readonly;
    // virsh's connect opens read-only only when asked this time.
    ctl.options.readonly = optBool(cmd, 'readonly');
    try {
      await ctl.reconnect(name === '' ? undefined : name);
    } catch (err) {
      ctl.options.uri = previous;
      ctl.options.readonly = previousReadonly;
      ctl.error('failed to connect to the hypervisor');
      if (isVirError(err)) ctl.error(err.message);
      else throw err;
      return false;
    }
    return true;
  },
};

/** `cd [DIR]` (interactive shell only) */
export const cdCommand: CommandDef = {
  name: 'cd',
  help: 'change the current directory',
  desc: 'Change the current directory.',
  noConnect: true,
  opts: [{ name: 'dir', type: 'string', help: 'directory to switch to (default: home or else root)' }],
  async handler(ctl, cmd) {
    if (!ctl.options.interactive) {
      ctl.error('cd: command valid only in interactive mode');
      return false;
    }
    const dir = optStringQuiet(cmd, 'dir') ?? (homedir() || '/');
    try {
      process.chdir(dir);
    } catch (err) {
      ctl.error(`cd: ${strerror((err as NodeJS.ErrnoException).code)}: ${dir}`);
      return false;
    }
    return true;
  },
};

/** `pwd` */
export const pwdCommand: CommandDef = {
  name: 'pwd',
  help: 'print the current directory',
  desc: 'Print the current directory.',
  noConnect: true,
  opts: [],
  async handler(ctl) {
    ctl.print(`${process.cwd()}\n`);
    return true;
  },
};
