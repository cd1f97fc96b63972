/**
 * virsh's own options before the command (getopt_long with "+:c:d:e:hk:K:l:qrtvV"):
 * parsing stops at the first argument that is not an option, and errors use virsh's words.
 */

/** What the global options asked for. */
export interface GlobalOptions {
  uri?: string;
  quiet: boolean;
  readonly: boolean;
  timing: boolean;
  /** -h/--help */
  help: boolean;
  /** -v, -V or --version[=short|long], whichever came first. */
  version?: 'short' | 'long';
  /** The command words after the options. */
  rest: string[];
  /** Complaints that do not stop the run (a -d level out of range), printed as errors first. */
  warnings: string[];
}

/** The parsed global options, or the error virsh would print for them. */
export type GlobalParse = { ok: true; options: GlobalOptions } | { ok: false; error: string };



/** Options that take an argument, by short letter, with their long names. */
const WITH_ARGUMENT: Record<string, string> = { c: 'connect', d: 'debug', e: 'escape', k: 'keepalive-interval', K: 'keepalive-count', l: 'log' };
const LONG_TO_SHORT: Record<string, string> = {
  connect: 'c', debug: 'd', escape: 'e', help: 'h', 'keepalive-interval': 'k', 'keepalive-count': 'K',
  log: 'l', quiet: 'q', readonly: 'r', timing: 't', version: 'version',
};
const FLAGS = new Set(['h', 'q', 'r', 't', 'v', 'V']);

/** Parses argv (without node and the script). */
export function parseGlobalOptions(argv: readonly string[]): GlobalParse {
  const options: GlobalOptions = { quiet: false, readonly: false, timing: false, help: false, rest: [], warnings: [] };
  const apply = (letter: string, value: string | undefined): string | null => {
    switch (letter) {
      case 'c': options.uri = value; break;
      case 'q': options.quiet = true; break;
      case 'r': options.readonly = true; break;
      case 't': options.timing = true; break;
      case 'h': options.help = true; break;
      case 'v': options.version ??= 'short'; break;
      case 'V': options.version ??= 'long'; break;
      case 'version':
        if (value === undefined || value === 'short') options.version ??= 'short';
        else if (value === 'long') options.version ??= 'long';
        else return `unsupported version type '${value}'`;
        break;
      case 'd':
        if (value === undefined || !/^-?[0-9]+$/.test(value)) return 'option -d takes a numeric argument';
        if (Number(value) < 0 || Number(value) > 4) options.warnings.push(`ignoring debug level ${value} out of range [0-4]`);
        break;
      default: break; // -e, -k, -K, -l are accepted and have no effect here
    }
    return null;
  };
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i];
    if (arg === '--') { i++; break; }
    if (!arg.startsWith('-') || arg === '-') break;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const letter = LONG_TO_SHORT[name];
      if (!letter) return { ok: false, error: `unsupported option '${arg}'. See --help.` };
      let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
      if (letter in WITH_ARGUMENT && value === undefined) {
        if (i + 1 >= argv.length) return { ok: false, error: `option '-${letter}'/'--${WITH_ARGUMENT[letter]}' requires an argument` };
        value = argv[++i];
      }
      if (!(letter in WITH_ARGUMENT) && letter !== 'version' && value !== undefined) {
        // getopt reports the option's short letter here, and virsh words it as unsupported.
        return { ok: false, error: `unsupported option '-${letter}'. See --help.` };
      }
      const err = apply(letter, value);
      if (err) return { ok: false, error: err };
      if (options.help || options.version) return { ok: true, options };
      i++;
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j];
      if (letter in WITH_ARGUMENT) {
        let value = arg.slice(j + 1);
        if (value === '') {
          if (i + 1 >= argv.length) return { ok: false, error: `option '-${letter}'/'--${WITH_ARGUMENT[letter]}' requires an argument` };
          value = argv[++i];
        }
        const err = apply(letter, value);
        if (err) return { ok: false, error: err };
        break;
      }
      if (!FLAGS.has(letter)) return { ok: false, error: `unsupported option '-${letter}'. See --help.` };
      apply(letter, undefined);
      if (options.help || options.version) return { ok: true, options };
    }
    i++;
  }
  options.rest = argv.slice(i);
  return { ok: true, options };
}
