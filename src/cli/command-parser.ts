/**
 * virsh's option grammar (vshCommandParse in tools/vsh.c): the first argument names the
 * command; `--opt value`, `--opt=value` and bool `--opt` set options; other arguments
 * fill, in declared order, the options that take a value and are not named-only; `--`
 * makes every later argument positional; `--help` turns the command into `help CMD`.
 * The whole input is parsed before anything runs: one syntax error runs nothing.
 */
import type { CommandDef, OptionDef, ParsedCommand, ParsedOption } from './command-def.js';
import type { TokenSource } from './command-line.js';

/** Looks a command up by name (aliases already resolved). */
export type CommandLookup = (name: string) => CommandDef | undefined;

/** The outcome of parsing: the commands, or the error messages virsh would print. */
export type ParseResult =
  | { readonly ok: true; readonly commands: ParsedCommand[]; readonly notices: string[] }
  | { readonly ok: false; readonly errors: string[] };

const HELP_OPTION: OptionDef = { name: 'help', type: 'bool', help: 'print help for this function' };

/** Options that can take a positional value, by index: vshCmddefOptParse's opts_need_arg. */
function positionalSlots(def: CommandDef): Set<number> {
  const slots = new Set<number>();
  def.opts.forEach((opt, i) => {
    if (opt.type === 'bool' || opt.type === 'alias') return;
    if (!opt.namedOnly) slots.add(i);
  });
  return slots;
}

function requiredSet(def: CommandDef): Set<number> {
  const required = new Set<number>();
  def.opts.forEach((opt, i) => {
    if (opt.type !== 'bool' && opt.type !== 'alias' && opt.required) required.add(i);
  });
  return required;
}

/** Unwinds the parse after a syntax error has been recorded. */
class ParseAbort extends Error {}

/** Parses every command from `source`. */
export function parseCommands(source: TokenSource, lookup: CommandLookup): ParseResult {
  const errors: string[] = [];
  const fail = (message: string): never => {
    errors.push(message);
    throw new ParseAbort(message);
  };
  const commands: ParsedCommand[] = [];
  // Errors virsh prints but parses on after (only `help` tolerates bad options).
  const notices: string[] = [];
  try {
    for (;;) {
      let def: CommandDef | undefined;
      let opts: ParsedOption[] = [];
      let needArg = new Set<number>();
      let required = new Set<number>();
      const seen = new Set<number>();
      let dataOnly = false;
      let endKind: 'end' | 'commandEnd' = 'end';

      for (;;) {
        const tk = source.next();
        if (tk.kind === 'error') fail(tk.message);
        if (tk.kind !== 'arg') {
          endKind = tk.kind as 'end' | 'commandEnd';
          break;
        }
        const data = tk.value;
        if (def === undefined) {
          if (data.startsWith('#')) {
            // A comment in argv form: skip the rest of this command.
            let t = source.next();
            while (t.kind === 'arg') t = source.next();
            if (t.kind === 'error') fail(t.message);
            endKind = t.kind === 'commandEnd' ? 'commandEnd' : 'end';
            break;
          }
          def = lookup(data);
          if (!def) fail(`unknown command: '${data}'`);
          needArg = positionalSlots(def!);
          required = requiredSet(def!);
          continue;
        }
        const cmd: CommandDef = def;
        let opt: OptionDef | undefined;
        let value: string | null = null;
        if (!dataOnly && data.startsWith('--') && /^[A-Za-z0-9]/.test(data.slice(2))) {
          const eq = data.indexOf('=', 2);
          const name = eq >= 0 ? data.slice(2, eq) : data.slice(2);
          const found = findOption(cmd, name, eq >= 0 ? data.slice(eq + 1) : null, seen);
          if ('error' in found) {
            // `help` reports a repeated option but goes on, and ignores options it does not know.
            if (found.error !== null && cmd.name !== 'help') fail(found.error);
            if (found.error !== null) notices.push(found.error);
            continue;
          }
          opt = found.opt;
          const inlineValue = found.inlineValue;
          if (opt.type !== 'bool') {
            if (inlineValue !== null) value = inlineValue;
            else {
              const vt = source.next();
              if (vt.kind === 'error') fail(vt.message);
              if (vt.kind !== 'arg') fail(`expected syntax: --${opt.name} <${opt.type === 'int' ? 'number' : 'string'}>`);
              else value = vt.value;
            }
            if (opt.type !== 'argv') needArg.delete(found.index);
          } else if (inlineValue !== null) {
            fail(`invalid '=' after option --${opt.name}`);
          }
        } else if (!dataOnly && data === '--') {
          dataOnly = true;
          continue;
        } else {
          const slot = [...needArg].sort((a, b) => a - b)[0];
          if (slot === undefined) {
            if (cmd.name !== 'help') fail(`unexpected data '${data}'`);
            continue;
          }
          opt = cmd.opts[slot];
          if (opt.type !== 'argv') needArg.delete(slot);
          seen.add(slot);
          value = data;
        }
        opts.push({ def: opt, data: value });
      }

      if (def !== undefined) {
        let finalDef: CommandDef = def;
        if (opts.some((o) => o.def === HELP_OPTION)) {
          const help = lookup('help');
          if (help) {
            opts = [{ def: help.opts[0], data: def.name }];
            finalDef = help;
            required = new Set();
          }
        }
        const missing = [...required].filter((i) => !seen.has(i)).sort((a, b) => a - b);
        if (missing.length > 0) {
          for (const i of missing) {
            const o = finalDef.opts[i];
            errors.push(o.type === 'data' || o.type === 'argv'
              ? `command '${finalDef.name}' requires <${o.name}> option`
              : `command '${finalDef.name}' requires --${o.name} option`);
          }
          throw new ParseAbort('missing options');
        }
        commands.push({ def: finalDef, opts });
      }
      if (endKind === 'end') break;
    }
  } catch (err) {
    if (err instanceof ParseAbort) return { ok: false, errors };
    throw err;
  }
  return { ok: true, commands, notices };
}

type FoundOption =
  | { opt: OptionDef; index: number; inlineValue: string | null }
  | { error: string | null };

/** vshCmddefGetOption: resolves aliases, refuses repeats and unknown names. */
function findOption(cmd: CommandDef, name: string, inlineValue: string | null, seen: Set<number>): FoundOption {
  if (name === 'help') return { opt: HELP_OPTION, index: -1, inlineValue };
  let wanted = name;
  let value = inlineValue;
  for (let i = 0; i < cmd.opts.length; i++) {
    const opt = cmd.opts[i];
    if (opt.name !== wanted) continue;
    if (opt.type === 'alias') {
      const eq = opt.help.indexOf('=');
      if (eq >= 0) {
        if (value !== null) return { error: `invalid '=' after option --${opt.name}` };
        value = opt.help.slice(eq + 1);
        wanted = opt.help.slice(0, eq);
      } else {
        wanted = opt.help;
      }
      continue;
    }
    if (seen.has(i) && opt.type !== 'argv') return { error: `option --${wanted} already seen` };
    seen.add(i);
    return { opt, index: i, inlineValue: value };
  }
  if (cmd.name === 'help') return { error: null };
  return { error: `command '${cmd.name}' doesn't support option --${wanted}` };
}
