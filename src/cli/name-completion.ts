/**
 * Tab completion of names in the interactive shell: a domain where the command takes its
 * `domain`, and that domain's snapshots where it takes a snapshot name (`snapshotname`,
 * `--from`), whether the word is typed positionally or after its `--option`. The slot is
 * found with virsh's grammar: a non-bool option's value follows it, and positional words
 * fill the options that may be given positionally, in table order.
 */
import type { CommandDef, OptionDef } from './command-def.js';
import type { Control } from './control.js';

/** The option names whose values are snapshot names of the command's domain. */
const SNAPSHOT_SLOTS = new Set(['snapshotname', 'from']);

/** Takes a value: every type but bool (and alias, which names another option). */
function takesValue(opt: OptionDef): boolean {
  return opt.type !== 'bool' && opt.type !== 'alias';
}

/** Which option the last of `args` is the value of (undefined: none, or an option name being typed), and the values given so far. */
export function slotOf(def: CommandDef, args: readonly string[]): { slot: string | undefined; values: Map<string, string> } {
  const values = new Map<string, string>();
  const positional = def.opts.filter((o) => takesValue(o) && !o.namedOnly && o.type !== 'argv');
  const find = (name: string): OptionDef | undefined => def.opts.find((o) => o.name === name);
  let pending: string | undefined;
  const nextPositional = (): string | undefined => positional.find((o) => !values.has(o.name))?.name;
  for (const word of args.slice(0, -1)) {
    if (pending !== undefined) {
      values.set(pending, word);
      pending = undefined;
    } else if (word.startsWith('--')) {
      const [name, inline] = word.slice(2).split('=', 2);
      const opt = find(name);
      if (opt && takesValue(opt)) {
        if (inline !== undefined) values.set(name, inline);
        else pending = name;
      }
    } else {
      const slot = nextPositional();
      if (slot !== undefined) values.set(slot, word);
    }
  }
  const current = args[args.length - 1] ?? '';
  if (pending !== undefined) return { slot: pending, values };
  if (current.startsWith('-')) return { slot: undefined, values };
  return { slot: nextPositional(), values };
}

/**
 * The domain or snapshot names that complete the last word of `args` for `def` (empty
 * when that word is no name slot, or nothing matches). Asks the connection; a failure
 * (no such domain, no connection) completes nothing.
 */
export async function completeNames(ctl: Control, def: CommandDef, args: readonly string[]): Promise<string[]> {
  const { slot, values } = slotOf(def, args);
  const current = args[args.length - 1] ?? '';
  let names: string[] = [];
  try {
    const conn = await ctl.connection();
    if (slot === 'domain') {
      names = (await conn.listAllDomains()).map((d) => d.getName());
    } else if (slot !== undefined && SNAPSHOT_SLOTS.has(slot) && values.has('domain')) {
      names = await (await conn.domainLookupByName(values.get('domain') ?? '')).snapshotListNames();
    }
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(current)).sort();
}
