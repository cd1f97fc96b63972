import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CommandDef, ParsedCommand } from '../../src/cli/command-def.js';
import { ArgvTokenSource, StringTokenSource } from '../../src/cli/command-line.js';
import { parseCommands } from '../../src/cli/command-parser.js';
import { findCommand, loadAllCommands } from '../../src/cli/registry.js';

// The parser looks commands up synchronously; main() imports those a line names first.
await loadAllCommands();

const handler = async (): Promise<boolean> => true;
const demo: CommandDef = {
  name: 'demo', help: 'demo', desc: '', handler,
  opts: [
    { name: 'domain', type: 'data', required: true, help: 'domain' },
    { name: 'flag', type: 'bool', help: 'a flag' },
    // virsh requires an alias to come before the option it stands for.
    { name: 'nick', type: 'alias', help: 'name' },
    { name: 'yes', type: 'alias', help: 'name=yes' },
    { name: 'name', type: 'string', help: 'a name' },
    { name: 'only-named', type: 'string', namedOnly: true, help: 'named only' },
    { name: 'count', type: 'int', help: 'a number' },
    { name: 'rest', type: 'argv', help: 'the rest' },
  ],
};
const table = (name: string): CommandDef | undefined => (name === 'demo' ? demo : findCommand(name));

function parse(text: string) {
  return parseCommands(new StringTokenSource(text), table);
}
function options(cmd: ParsedCommand): Array<[string, string | null]> {
  return cmd.opts.map((o) => [o.def.name, o.data]);
}

test('positional values fill data, string and int options in order, then the argv option', () => {
  const r = parse('demo dom n1 7 x y');
  assert.ok(r.ok);
  assert.deepEqual(options(r.commands[0]), [['domain', 'dom'], ['name', 'n1'], ['count', '7'], ['rest', 'x'], ['rest', 'y']]);
});

test('named options, = values, bools, and -- making the rest positional', () => {
  const r = parse('demo --flag --name=a --only-named b dom -- --flag');
  assert.ok(r.ok);
  assert.deepEqual(options(r.commands[0]), [['flag', null], ['name', 'a'], ['only-named', 'b'], ['domain', 'dom'], ['count', '--flag']]);
});

test('a named option no longer takes a positional value', () => {
  const r = parse('demo --name a dom b');
  assert.ok(r.ok);
  assert.deepEqual(options(r.commands[0]), [['name', 'a'], ['domain', 'dom'], ['count', 'b']]);
});

test('aliases resolve to their option, with a preset value when given', () => {
  const r = parse('demo dom --nick x');
  assert.ok(r.ok);
  assert.deepEqual(options(r.commands[0]), [['domain', 'dom'], ['name', 'x']]);
  const r2 = parse('demo dom --yes');
  assert.ok(r2.ok);
  assert.deepEqual(options(r2.commands[0]), [['domain', 'dom'], ['name', 'yes']]);
  assert.deepEqual(parse('demo dom --yes=1'), { ok: false, errors: ["invalid '=' after option --yes"] });
});

test("virsh's syntax errors", () => {
  assert.deepEqual(parse('nope'), { ok: false, errors: ["unknown command: 'nope'"] });
  assert.deepEqual(parse('demo dom --bogus'), { ok: false, errors: ["command 'demo' doesn't support option --bogus"] });
  assert.deepEqual(parse('demo dom --name a --name b'), { ok: false, errors: ['option --name already seen'] });
  assert.deepEqual(parse('demo dom --name'), { ok: false, errors: ['expected syntax: --name <string>'] });
  assert.deepEqual(parse('demo dom --count'), { ok: false, errors: ['expected syntax: --count <number>'] });
  assert.deepEqual(parse('demo dom --flag=1'), { ok: false, errors: ["invalid '=' after option --flag"] });
  assert.deepEqual(parse('demo'), { ok: false, errors: ["command 'demo' requires <domain> option"] });
  assert.deepEqual(parse('dominfo a b'), { ok: false, errors: ["unexpected data 'b'"] });
  assert.deepEqual(parse('snapshot-dumpxml'), {
    ok: false,
    errors: ["command 'snapshot-dumpxml' requires <domain> option", "command 'snapshot-dumpxml' requires <snapshotname> option"],
  });
});

test('one syntax error anywhere means no command runs', () => {
  assert.equal(parse('uri; demo dom; bogus').ok, false);
});

test('--help turns any command into help for it, ignoring other options', () => {
  const r = parse('snapshot-list --help --bogus');
  assert.equal(r.ok, false); // --bogus is still unknown to snapshot-list
  const r2 = parse('snapshot-list --help');
  assert.ok(r2.ok);
  assert.equal(r2.commands[0].def.name, 'help');
  assert.deepEqual(options(r2.commands[0]), [['command', 'snapshot-list']]);
});

test('help reports a repeated option but goes on', () => {
  const r = parse('help --command uri --command list');
  assert.ok(r.ok);
  assert.deepEqual(r.notices, ['option --command already seen']);
  assert.deepEqual(options(r.commands[0]), [['command', 'uri']]);
});

test('help ignores options and data it does not know', () => {
  const r = parse('help --bogus snapshot-list extra');
  assert.ok(r.ok);
  assert.deepEqual(options(r.commands[0]), [['command', 'snapshot-list']]);
});

test('several commands and comments', () => {
  const r = parse('uri; hostname # the rest: version\nversion');
  assert.ok(r.ok);
  assert.deepEqual(r.commands.map((c) => c.def.name), ['uri', 'hostname', 'version']);
});

test('argv form parses one command without quoting rules', () => {
  const r = parseCommands(new ArgvTokenSource(['echo', 'a;b', "'c'"]), table);
  assert.ok(r.ok);
  assert.deepEqual(options(r.commands[0]), [['string', 'a;b'], ['string', "'c'"]]);
});

test('every command in the lazy table is registered under its own name', async () => {
  const { commandNames: names } = await import('../../src/cli/registry.js');
  for (const name of names()) assert.equal(findCommand(name)?.name, name);
});
