/**
 * Running the user's editor on a temporary file, as virsh's vshEditFile does, but without
 * a shell: $VISUAL, then $EDITOR, then vi, split into words (simple quotes honoured) and
 * run with an argument array, so nothing in the variable is ever interpreted by a shell.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { virError, VirErrorCode, VirErrorDomain } from '../api/errors.js';
import type { Control } from './control.js';
import { strerror } from '../api/errno-text.js';
import { FileReadError, MAX_XML_FILE, readFileLimited, xmlTextOf } from './read-file.js';

/** Splits an editor command line into words: blanks separate, quotes group, backslash escapes. */
export function splitEditorCommand(command: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < command.length) current += command[++i];
      else current += c;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === '"' || c === "'") quote = c;
    else if (c === '\\' && i + 1 < command.length) current += command[++i];
    else current += c;
  }
  if (inWord) words.push(current);
  return words;
}

/** A temporary file holding text for the editor; remove() deletes it. */
export interface EditFile { path: string; remove(): Promise<void> }

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Writes `text` to a new private file named like virsh's (`$TMPDIR/snapvirtXXXXXX.xml`),
 * created exclusively with mode 0600 so no one else can have prepared or read it.
 */
export async function writeEditFile(text: string): Promise<EditFile> {
  for (let attempt = 0; ; attempt++) {
    const suffix = [...randomBytes(6)].map((b) => NAME_CHARS[b % NAME_CHARS.length]).join('');
    const path = join(process.env.TMPDIR || tmpdir(), `snapvirt${suffix}.xml`);
    let handle;
    try {
      handle = await open(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
      throw err;
    }
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
    return { path, remove: () => rm(path, { force: true }) };
  }
}

/** Runs the editor on `path`; a failure is libvirt's "Child process … unexpected exit status" error. */
export async function runEditor(ctl: Control, path: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // As virsh: a variable that is set, even to "", is used.
  const editor = env.VISUAL ?? env.EDITOR ?? 'vi';
  const words = splitEditorCommand(editor);
  if (words.length === 0) words.push('');
  const [program, ...args] = words;
  const shown = `${editor} ${path}`;
  const status = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    const child = spawn(program, [...args, path], { stdio: ['inherit', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => ctl.io.out(chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => ctl.io.err(chunk.toString('utf8')));
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  if (status.error) {
    const code = (status.error as NodeJS.ErrnoException).code;
    if (!program.includes('/')) {
      throw virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.NONE, `Cannot find '${program}' in path: No such file or directory`);
    }
    // A path is exec'd by libvirt's forked child, which logs the failure and exits 127.
    ctl.io.err(`libvirt:  error : cannot execute binary ${program}: ${strerror(code)}\n`);
    const exitStatus = code === 'EACCES' ? 126 : 127; // the shell's convention, which libvirt's child follows
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE, `Child process (${shown}) unexpected exit status ${exitStatus}`);
  }
  if (status.signal) {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE, `Child process (${shown}) unexpected fatal signal ${status.signal}`);
  }
  if (status.code !== 0) {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE, `Child process (${shown}) unexpected exit status ${status.code}`);
  }
}

/** Reads the edited file back (vshEditReadBackFile: virFileReadAll with virsh's 10 MiB limit). */
export async function readEditFile(ctl: Control, path: string): Promise<string> {
  try {
    return xmlTextOf(await readFileLimited(path, MAX_XML_FILE));
  } catch (err) {
    ctl.error(`${path}: failed to read temporary file: ${err instanceof FileReadError ? strerror(err.code) : (err as Error).message}`);
    throw err;
  }
}
