/**
 * snapvirt's entry point: virsh's global options, then one command string
 * (`snapvirt 'cmd1; cmd2'`), one command as separate words (`snapvirt cmd arg…`), or the
 * interactive shell when no command is given. Returns the exit status: 0 when the last
 * command succeeded, 1 otherwise.
 */
import { encodeUtf8Escaped } from '../conf/utf8-bytes.js';
import { argvAsGiven } from './raw-argv.js';
import { requireTestingSwitch } from '../txn/failpoints.js';
import { ArgvTokenSource, StringTokenSource, type TokenSource } from './command-line.js';
import { parseCommands } from './command-parser.js';
import { Control, type OutputSink } from './control.js';
import { parseGlobalOptions } from './global-options.js';
import { findCommand, loadAllCommands, loadCommandsNamedIn } from './registry.js';
import { reportConnectFailure, runCommands } from './run-commands.js';

/** Writes to the process's stdout and stderr. */
export const processSink: OutputSink = {
  // Bytes that came in as they were (not UTF-8) go out as they came (utf8-bytes.ts).
  out: (text) => { process.stdout.write(encodeUtf8Escaped(text)); },
  // Nothing left queued means the write went out at once and the bytes are free again.
  outBytes: (bytes) => { process.stdout.write(bytes); return process.stdout.writableLength === 0; },
  err: (text) => { process.stderr.write(encodeUtf8Escaped(text)); },
};

let pipeGuardInstalled = false;
/** `snapvirt … | head -1`: a reader that went away is not an error worth a stack trace. */
function ignoreClosedPipes(): void {
  if (pipeGuardInstalled) return;
  pipeGuardInstalled = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
}

/** Runs snapvirt with `argv` (the arguments after the program name); resolves to the exit status. */
export async function main(argv: string[], io: OutputSink = processSink): Promise<number> {
  if (io === processSink) {
    argv = argvAsGiven(argv);
    ignoreClosedPipes();
    // The shipped command line: failpoints only with the testing switch, never silently.
    const notice = requireTestingSwitch();
    if (notice !== undefined) io.err(`warning: ${notice}\n`);
  }
  const parsed = parseGlobalOptions(argv);
  if (!parsed.ok) {
    io.err(`error: ${parsed.error}\n`);
    return 1;
  }
  const options = parsed.options;
  for (const warning of options.warnings) io.err(`error: ${warning}\n`);
  if (options.version === 'short') {
    const { LIBRARY_VERSION_TEXT } = await import('./commands/host.js');
    io.out(`${LIBRARY_VERSION_TEXT}\n`);
    return 0;
  }
  if (options.version === 'long') {
    const [{ LIBRARY_VERSION_TEXT }, { longVersionText }] = await Promise.all([import('./commands/host.js'), import('./usage.js')]);
    io.out(longVersionText(LIBRARY_VERSION_TEXT));
    return 0;
  }
  if (options.help) {
    const { usageText } = await import('./usage.js');
    io.out(usageText(await loadAllCommands()));
    return 0;
  }
  const interactive = options.rest.length === 0;
  const ctl = new Control(io, {
    uri: options.uri, quiet: options.quiet, readonly: options.readonly, interactive, timing: options.timing,
  });
  try {
    if (interactive) {
      if (!(await connectEagerly(ctl, options.uri !== undefined))) return 1;
      const { runShell } = await import('./shell.js');
      return (await runShell(ctl)) ? 0 : 1;
    }
    // virsh refuses an empty command string outright (vshCommandStringParse).
    if (options.rest.length === 1 && options.rest[0] === '') return 1;
    const tokens = (): TokenSource => options.rest.length === 1
      ? new StringTokenSource(options.rest[0])
      : new ArgvTokenSource(options.rest);
    await loadCommandsNamedIn(tokens());
    const result = parseCommands(tokens(), findCommand);
    if (!result.ok) {
      for (const message of result.errors) ctl.error(message);
      return 1;
    }
    for (const message of result.notices) ctl.error(message);
    if (!(await connectEagerly(ctl, options.uri !== undefined))) return 1;
    return (await runCommands(ctl, result.commands)) ? 0 : 1;
  } finally {
    await ctl.disconnect().catch(() => undefined);
  }
}

/** As virsh: a URI given with -c must connect before anything runs; the default one connects on first use. */
async function connectEagerly(ctl: Control, explicit: boolean): Promise<boolean> {
  if (!explicit) return true;
  try {
    await ctl.connection();
    return true;
  } catch (err) {
    reportConnectFailure(ctl, err);
    return false;
  }
}
