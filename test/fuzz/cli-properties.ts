/**
 * The command-line fuzz properties (run by cli-parser.fuzz.test.ts in a worker thread).
 * Hostile input for the command line: random argv vectors and batch
 * strings (`snapvirt 'cmd1; cmd2'`) built from snapvirt's real commands and options mixed
 * with random words, quotes, backslashes, semicolons, control characters and lone
 * surrogates, run through main() on test:///default. main() must always resolve to 0 or
 * 1, never reject, and a failure must print `error: …`. The option parser
 * (parseCommands) also gets raw random strings. Seeded (fuzz-support.ts).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { main } from '../../src/cli/main.js';
import { StringTokenSource, ArgvTokenSource } from '../../src/cli/command-line.js';
import { parseCommands } from '../../src/cli/command-parser.js';
import { parseGlobalOptions } from '../../src/cli/global-options.js';
import { commandNames, findCommand, loadAllCommands } from '../../src/cli/registry.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { fuzzParams } from './fuzz-support.js';

await loadAllCommands();
const COMMANDS = commandNames();
/** Every option name any command declares, as `--name`. */
const OPTIONS = [...new Set(COMMANDS.flatMap((c) => findCommand(c)?.opts.map((o) => `--${o.name}`) ?? []))];
const VALUES = [
  'test', 'fv0', 'vm', 'snap1', '1', '0', '-1', '4294967296', '0x10', '', ' ', '/', '..', '../..', '/etc/passwd',
  'a/b', '.hidden', 'x'.repeat(300), '\u0000', '\u0001', '\u001b[2J', '\ud800', 'é😀', '--', '-', '=', 'vda,snapshot=external',
  "vda,file=/nonexistent/x,snapshot=external", 'vda,,', 'file=/tmp/x', 'internal', 'external', 'no',
];
const BATCH_PIECES = [';', ';;', ' ', '\n', "'", '"', '\\', '\\\n', '#', '--', '=', '\t', '\u0000'];

const wordArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...COMMANDS) },
  { weight: 3, arbitrary: fc.constantFrom(...OPTIONS) },
  { weight: 3, arbitrary: fc.constantFrom(...VALUES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);

/** Global options that cannot start the interactive shell or write files (-l would). */
const globalsArb = fc.array(fc.oneof(
  fc.constant(['-c', 'test:///default']), fc.constant(['-q']), fc.constant(['-r']), fc.constant(['-t']),
  fc.constantFrom(['-c', 'bogus:///x'], ['-c', 'test:///nonexistent'], ['-d', '9'], ['-d', 'x'], ['-e', '^]'], ['-k', '-1'], ['-K', 'x'], ['--nope'], ['-z']),
), { maxLength: 3 }).map((groups) => groups.flat());

/** A command line: globals (always ending on a connection to test:///default), then words. */
const argvArb = fc.tuple(globalsArb, fc.constantFrom(...COMMANDS), fc.array(wordArb, { maxLength: 8 }))
  .map(([globals, cmd, words]) => [...globals, '-c', 'test:///default', cmd, ...words]);

const batchArb = fc.array(fc.oneof(wordArb, fc.constantFrom(...BATCH_PIECES)), { minLength: 1, maxLength: 20 })
  .map((parts) => parts.join(' '));

interface Captured { code: number; out: string; err: string }

async function runMain(argv: string[]): Promise<Captured> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => { out += t; }, err: (t) => { err += t; } });
  return { code, out, err };
}

/** True for argv that would start the interactive shell (no command words): never generated, but checked. */
function wouldBeInteractive(argv: string[]): boolean {
  const parsed = parseGlobalOptions(argv);
  return parsed.ok && parsed.options.rest.length === 0 && !parsed.options.help && parsed.options.version === undefined;
}

/** Property: random argv through main() on test:///default ends in 0 or 1, never a throw. */
export async function mainNeverThrows(): Promise<void> {
  const tmp = await makeTempDir('snapvirt-cli-fuzz-');
  const saved = { ...process.env };
  // No editor may start, no real state may be touched, no history written to the real home.
  Object.assign(process.env, { VISUAL: 'false', EDITOR: 'false', SNAPVIRT_STATE_DIR: `${tmp.path}/state`, HOME: tmp.path, XDG_DATA_HOME: tmp.path });
  const codes = { 0: 0, 1: 0 };
  try {
    await fc.assert(fc.asyncProperty(fc.oneof(argvArb, batchArb.map((b) => ['-c', 'test:///default', b])), async (argv) => {
      fc.pre(!wouldBeInteractive(argv));
      const r = await runMain(argv);
      assert.ok(r.code === 0 || r.code === 1, `exit ${r.code} for ${JSON.stringify(argv)}`);
      if (r.code === 1) assert.match(r.err, /error: /, `exit 1 without an error message for ${JSON.stringify(argv)}`);
      codes[r.code]++;
    }), fuzzParams(1500));
  } finally {
    for (const k of ['VISUAL', 'EDITOR', 'SNAPVIRT_STATE_DIR', 'HOME', 'XDG_DATA_HOME']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await tmp.cleanup();
  }
  assert.ok(codes[0] > 0 && codes[1] > 0, `the generator never reached one of the outcomes (exit 0: ${codes[0]}, exit 1: ${codes[1]})`);
}

/** Property: the command parser takes any string or word list and answers ok or errors. */
export function parserAnswers(): void {
  const check = (source: StringTokenSource | ArgvTokenSource, input: string): void => {
    let result: ReturnType<typeof parseCommands>;
    try {
      result = parseCommands(source, findCommand);
    } catch (err) {
      throw new Error(`parseCommands threw ${String(err)} for ${JSON.stringify(input.slice(0, 200))}`);
    }
    if (!result.ok) assert.ok(result.errors.length > 0 && result.errors.every((e) => typeof e === 'string' && e.length > 0));
  };
  fc.assert(fc.property(
    fc.oneof(batchArb, fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 40 })),
    (text) => { check(new StringTokenSource(text), text); },
  ), fuzzParams(3000));
  fc.assert(fc.property(
    fc.array(wordArb, { minLength: 1, maxLength: 10 }),
    (words) => { check(new ArgvTokenSource(words), words.join(' ')); },
  ), fuzzParams(3000));
}
