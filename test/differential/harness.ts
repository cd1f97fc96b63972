/**
 * Differential harness: runs one scenario through real virsh and through snapvirt, each as
 * exactly one process, and compares stdout, stderr and exit status after masking the values
 * that legitimately differ between two runs (timestamps, default snapshot names, CPU time
 * and the temporary directory). Nothing else is masked, so every remaining difference is real.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, chmod, mkdir } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Outcome, Scenario, ScenarioFile } from './scenario.js';

/** The repository root (this file is compiled to dist/test/differential/harness.js). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Which program runs the scenario. */
export type Tool = 'virsh' | 'snapvirt';

/** The default connection URI, as in libvirt's own virsh tests. */
export const defaultUri = 'test:///default';

/** A process result before normalisation, plus the time window it ran in. */
export interface RawRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
  /** Epoch seconds when the process was started and when it ended. */
  readonly startedAt: number;
  readonly endedAt: number;
}

/** Replace every `{dir}` placeholder with the scenario's working directory. */
function fill(text: string, dir: string): string {
  return text.split('{dir}').join(dir);
}

/** The argument vector (after the program name) for a scenario. */
export function argvFor(scenario: Scenario, dir: string): string[] {
  const args: string[] = [];
  const uri = scenario.uri === undefined ? defaultUri : scenario.uri;
  if (uri !== null) args.push('-c', fill(uri, dir));
  if (scenario.quiet === true) args.push('-q');
  for (const g of scenario.globalArgs ?? []) args.push(fill(g, dir));
  if (scenario.commands !== undefined) args.push(fill(scenario.commands, dir));
  for (const word of scenario.argv ?? []) args.push(fill(word, dir));
  return args;
}

/**
 * The fixed environment. It deliberately drops the caller's environment (apart from PATH)
 * so a developer's LIBVIRT_DEFAULT_URI, EDITOR or locale cannot change the outcome.
 * EDITOR defaults to /bin/false so a forgotten editor never opens an interactive vi.
 */
export function environmentFor(scenario: Scenario, dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: dir,
    TZ: 'UTC',
    LANG: 'C',
    LC_ALL: 'C',
    TMPDIR: dir,
    EDITOR: '/bin/false',
  };
  for (const [key, value] of Object.entries(scenario.env ?? {})) env[key] = fill(value, dir);
  return env;
}

/** Write the scenario's files into `dir`. */
export async function materialise(scenario: Scenario, dir: string): Promise<void> {
  for (const [name, spec] of Object.entries(scenario.files ?? {})) {
    const file: ScenarioFile = typeof spec === 'string' ? { content: spec } : spec;
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, typeof file.content === 'string' ? fill(file.content, dir) : file.content);
    await chmod(path, file.mode ?? 0o644);
  }
}

/** Signal numbers for the exit status a shell would report (128 + signal). */
const signalNumbers: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15,
};

/** Per-process wall-clock limit; a hang is reported as exit status 124, like timeout(1). */
const processTimeoutMs = 30_000;

/** Run one program to completion with stdin closed. */
export function runProcess(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<RawRun> {
  return new Promise((resolveRun, rejectRun) => {
    const startedAt = Math.floor(Date.now() / 1000);
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, processTimeoutMs);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => { clearTimeout(timer); rejectRun(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let status = code ?? 0;
      if (timedOut) status = 124;
      else if (signal !== null) status = 128 + (signalNumbers[signal] ?? 0);
      resolveRun({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code: status,
        startedAt,
        endedAt: Math.ceil(Date.now() / 1000),
      });
    });
  });
}

/** Seconds of slack around the process's lifetime when deciding what is "a timestamp of now". */
const windowSlack = 5;

/**
 * Mask what legitimately differs between two runs: epoch numbers and dates that fall inside
 * the process's own lifetime (creationTime values, default snapshot names, list dates),
 * dominfo's CPU time, libvirt log-line prefixes, and the temporary directory. Timestamps
 * outside the lifetime (e.g. fixed creationTime values from a fixture) are compared as is.
 */
export function normalise(text: string, dir: string, startedAt: number, endedAt: number): string {
  const lo = startedAt - windowSlack;
  const hi = endedAt + windowSlack;
  let t = text.split(dir).join('{dir}');
  t = t.replace(/\b\d{10}\b/g, (m) => {
    const n = Number(m);
    return n >= lo && n <= hi ? 'EPOCH' : m;
  });
  t = t.replace(/\b(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\b/g,
    (m, y: string, mo: string, d: string, h: string, mi: string, s: string, sign: string, oh: string, om: string) => {
      const offset = (Number(oh) * 3600 + Number(om) * 60) * (sign === '-' ? -1 : 1);
      const epoch = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) / 1000 - offset;
      return epoch >= lo && epoch <= hi ? 'DATE' : m;
    });
  t = t.replace(/^(CPU time:\s+)\S+$/gm, '$1CPUTIME');
  // libvirt's in-process log lines: "2026-01-01 12:00:00.123+0000: 4242: warning : ..."
  t = t.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d{4}: \d+: /gm, 'TIMESTAMP: PID: ');
  return t;
}

/** Run a scenario through one tool and return its normalised outcome. */
export async function runWith(tool: Tool, scenario: Scenario): Promise<Outcome> {
  const dir = await mkdtemp(join(tmpdir(), 'snapvirt-diff-'));
  try {
    await materialise(scenario, dir);
    const args = argvFor(scenario, dir);
    const env = environmentFor(scenario, dir);
    const raw = tool === 'virsh'
      ? await runProcess('virsh', args, dir, env)
      : await runProcess(process.execPath, [join(repoRoot, 'bin', 'snapvirt'), ...args], dir, env);
    return {
      stdout: normalise(raw.stdout, dir, raw.startedAt, raw.endedAt),
      stderr: normalise(raw.stderr, dir, raw.startedAt, raw.endedAt),
      code: raw.code,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The result of comparing one scenario. */
export interface Comparison {
  readonly scenario: Scenario;
  /** What snapvirt must produce: virsh's outcome, or the scenario's own `expected`. */
  readonly reference: Outcome;
  /** Where the reference came from. */
  readonly referenceSource: 'virsh' | 'expected';
  readonly actual: Outcome;
  readonly matches: boolean;
  /** A readable diff (empty when it matches). */
  readonly diff: string;
}

/** Run a scenario through the reference (virsh, or `expected` for deviations) and snapvirt. */
export async function compare(scenario: Scenario): Promise<Comparison> {
  const isDeviation = scenario.deviation !== undefined;
  if (isDeviation && scenario.expected === undefined) throw new Error(`scenario ${scenario.name}: deviation without expected outcome`);
  // The two processes are independent (separate directories, state per process), so they run
  // side by side.
  const [fromVirsh, actual] = await Promise.all([
    isDeviation ? Promise.resolve(undefined) : runWith('virsh', scenario),
    runWith('snapvirt', scenario),
  ]);
  const reference: Outcome = fromVirsh ?? scenario.expected!;
  const referenceSource = isDeviation ? 'expected' : 'virsh';
  const diff = describeDifference(reference, actual, referenceSource);
  return { scenario, reference, referenceSource, actual, matches: diff === '', diff };
}

/** A readable description of how `actual` differs from `reference`; '' when equal. */
export function describeDifference(reference: Outcome, actual: Outcome, referenceLabel: string): string {
  const parts: string[] = [];
  if (reference.code !== actual.code) parts.push(`exit code: ${referenceLabel} ${reference.code}, snapvirt ${actual.code}`);
  if (reference.stdout !== actual.stdout) parts.push(`stdout (- ${referenceLabel}, + snapvirt):\n${lineDiff(reference.stdout, actual.stdout)}`);
  if (reference.stderr !== actual.stderr) parts.push(`stderr (- ${referenceLabel}, + snapvirt):\n${lineDiff(reference.stderr, actual.stderr)}`);
  return parts.join('\n');
}

/** Make invisible differences (trailing spaces, missing final newline) visible. */
function showLine(line: string): string {
  return JSON.stringify(line).slice(1, -1).replace(/ $/, '·').replace(/ +$/, (m) => '·'.repeat(m.length));
}

/**
 * A minimal line diff (LCS) with two lines of context. Lines are shown JSON-escaped so
 * trailing spaces, tabs and control characters are visible; the last element records
 * whether the text ended with a newline.
 */
export function lineDiff(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: Array<{ kind: ' ' | '-' | '+'; line: string }> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { ops.push({ kind: ' ', line: x[i]! }); i++; j++; }
    else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) { ops.push({ kind: '+', line: y[j]! }); j++; }
    else { ops.push({ kind: '-', line: x[i]! }); i++; }
  }
  const keep = new Array<boolean>(ops.length).fill(false);
  ops.forEach((op, k) => {
    if (op.kind === ' ') return;
    for (let c = Math.max(0, k - 2); c <= Math.min(ops.length - 1, k + 2); c++) keep[c] = true;
  });
  const out: string[] = [];
  let skipped = false;
  ops.forEach((op, k) => {
    if (!keep[k]) { if (!skipped) out.push('  ...'); skipped = true; return; }
    skipped = false;
    out.push(`${op.kind} ${showLine(op.line)}`);
  });
  return out.join('\n');
}

/**
 * How many scenarios run at once: at least 4 (each scenario is two short-lived processes that
 * mostly wait on process start-up), more on machines with more cores.
 */
export const defaultJobs = Math.max(4, availableParallelism());

/** Run `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const k = next++;
      results[k] = await fn(items[k]!);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  return results;
}
