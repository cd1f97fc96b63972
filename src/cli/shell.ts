/**
 * The interactive shell: virsh's welcome banner and `snapvirt # ` prompt, line editing
 * with history (kept in $XDG_CACHE_HOME/snapvirt/history) and tab completion of command
 * names, of a command's options, and of domain and snapshot names (name-completion.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { StringTokenSource } from './command-line.js';
import { parseCommands } from './command-parser.js';
import type { Control } from './control.js';
import { completeNames } from './name-completion.js';
import { commandNames, findCommand, loadAllCommands } from './registry.js';
import { runCommands } from './run-commands.js';

const HISTORY_LIMIT = 500;

function historyFile(): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'snapvirt', 'history');
}

/** Completions for the text before the cursor: command names first, then the command's unused options. */
export function completeLine(line: string): [string[], string] {
  const words = line.split(/[ \t]+/);
  const current = words[words.length - 1] ?? '';
  // Only the command being typed after the last `;` matters.
  const lastCommand = line.slice(line.lastIndexOf(';') + 1).trimStart().split(/[ \t]+/);
  if (lastCommand.length <= 1) {
    return [commandNames().filter((n) => n.startsWith(current)), current];
  }
  const def = findCommand(lastCommand[0]);
  if (!def) return [[], current];
  const used = new Set(lastCommand.slice(1, -1).filter((w) => w.startsWith('--')).map((w) => w.slice(2).split('=')[0]));
  const options = def.opts
    .filter((o) => o.type !== 'alias' && (o.type === 'argv' || !used.has(o.name)))
    .map((o) => `--${o.name}`)
    .filter((o) => o.startsWith(current));
  return [options, current];
}

/**
 * The shell's completer: domain and snapshot names where the word is one (asking the
 * connection), else completeLine's command names and options.
 */
export async function completeWithNames(ctl: Control, line: string): Promise<[string[], string]> {
  const fallback = completeLine(line);
  const lastCommand = line.slice(line.lastIndexOf(';') + 1).trimStart().split(/[ \t]+/);
  const def = lastCommand.length > 1 ? findCommand(lastCommand[0]) : undefined;
  if (!def) return fallback;
  const names = await completeNames(ctl, def, lastCommand.slice(1));
  return names.length > 0 ? [names, fallback[1]] : fallback;
}

/** Runs the shell until quit, exit or end of input. Like virsh, an interactive session always succeeds. */
export async function runShell(ctl: Control): Promise<boolean> {
  // Lines are parsed and completed as typed: every command must be at hand.
  await loadAllCommands();
  if (!ctl.options.quiet) {
    ctl.print("Welcome to snapvirt, the virtualization interactive terminal.\n\n"
      + "Type:  'help' for help with commands\n       'quit' to quit\n\n");
  }
  const terminal = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  let history: string[] = [];
  if (terminal) {
    try {
      history = readFileSync(historyFile(), 'utf8').split('\n').filter((l) => l !== '').reverse().slice(0, HISTORY_LIMIT);
    } catch { /* no history yet */ }
  }
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal,
    history,
    historySize: HISTORY_LIMIT,
    completer: (line: string, done: (err: null, result: [string[], string]) => void) => {
      completeWithNames(ctl, line).then((result) => done(null, result), () => done(null, completeLine(line)));
    },
    prompt: ctl.options.readonly ? 'snapvirt > ' : 'snapvirt # ',
  });
  // Ctrl-C at the prompt drops the line being typed, as readline does in virsh.
  rl.on('SIGINT', () => {
    rl.write(null, { ctrl: true, name: 'u' });
    ctl.print('\n');
    rl.prompt();
  });
  const lines = rl[Symbol.asyncIterator]();
  try {
    for (;;) {
      rl.prompt();
      const next = await lines.next();
      if (next.done) break;
      const line = next.value;
      // Without a terminal, readline still shows what it read after the prompt, as virsh's does.
      if (!terminal) ctl.print(`${line}\n`);
      if (line === '') continue;
      const parsed = parseCommands(new StringTokenSource(line), findCommand);
      if (!parsed.ok) {
        for (const message of parsed.errors) ctl.error(message);
        continue;
      }
      for (const message of parsed.notices) ctl.error(message);
      await runCommands(ctl, parsed.commands);
      if (ctl.stopRequested) break;
    }
  } finally {
    rl.close();
    if (terminal) saveHistory(rl);
  }
  // virsh ends the session with a line break, after quit as after end of input.
  ctl.print('\n');
  return true;
}

function saveHistory(rl: ReturnType<typeof createInterface>): void {
  // Justified double cast: readline keeps its history on the instance, but @types/node 20
  // does not declare the field (it is documented only for the 'history' event).
  const lines = (rl as unknown as { history?: string[] }).history ?? [];
  try {
    const file = historyFile();
    mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${[...lines].reverse().join('\n')}\n`, { mode: 0o600 });
  } catch { /* history is a convenience; losing it is not an error */ }
}
