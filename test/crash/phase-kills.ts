/**
 * Random kills that prove where they landed. A clean run's failpoint trace, with the time
 * each point was reached, splits the operation into the phases of the atomic protocol:
 *
 *   before journal  up to `<kind>.journal.after` (Node's start, checks, the lock)
 *   prepare         from `journal.after`: the prepare steps (k of N disks done: offline
 *                   `<kind>.prepare.disk.after`, live `live-create.node.after`)
 *   switch          from `switch.before` to `switch.after` (a live switch only)
 *   commit          from the last prepare step's end (or `switch.after`) to `commit.after`
 *   after           from `commit.after`: post-commit work, closing, exiting
 *
 * A kill aimed at a phase starts the operation with a `stop` failpoint where the phase
 * begins, lets it go on (SIGCONT), and SIGKILLs its process group after a seeded random
 * delay within the phase's length in the clean run; the clock starts when the phase does,
 * not when Node does. Where it landed is read from the failpoints the child reached before
 * it died (streamed on fd 3, see crash-child.ts), never assumed. A kill that lands in a
 * later phase counts there, and the phase is tried once more, killing the child while it
 * is still stopped at the phase's start, so every phase is reached in every run, however
 * loaded the machine (the report says how many kills landed that way).
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildOp } from './crash-child.js';
import { killGroup, startChild, type ChildOutcome } from './crash-world.js';

/** The phases of the atomic protocol a kill can land in, in order. */
export const PHASES = ['before journal', 'prepare', 'switch', 'commit', 'after'] as const;
export type Phase = (typeof PHASES)[number];

/** Where one phase begins (`name` reached for the `nth` time) and how long it lasted in the clean run. */
interface PhaseSpan {
  phase: Phase;
  name: string;
  nth: number;
  ms: number;
}

/** An operation's phases, from one clean run. */
export interface PhasePlan {
  /** The operation kind (`create`, `live-delete`…); undefined when it journals nothing. */
  kind: string | undefined;
  spans: PhaseSpan[];
  /** Disks whose prepare work is marked by `diskPoint` (0 when none are). */
  disks: number;
  /** The failpoint reached as each disk's prepare work is done. */
  diskPoint: string;
  /** The clean run's length from spawn to exit, for operations that journal nothing. */
  totalMs: number;
}

/** Where a kill landed. */
export interface Landing {
  phase: Phase;
  /** In prepare: the disks done (`<kind>.prepare.disk.after` reached) of `disks`. */
  disksDone?: number;
  disks?: number;
  /** The last failpoint reached before the kill. */
  lastPoint: string | undefined;
  /** The delay after the phase began ('stopped': killed while stopped at its start). */
  delay: number | 'stopped';
}

const count = (names: readonly string[], name: string): number => names.filter((n) => n === name).length;

/** Reads an operation's phases from a clean run's timed trace. */
export function phasePlanOf(points: readonly { name: string; ms: number }[], totalMs: number): PhasePlan {
  const names = points.map((p) => p.name);
  const kind = names.find((n) => n.endsWith('.journal.before'))?.replace(/\.journal\.before$/, '');
  if (kind === undefined) return { kind, spans: [], disks: 0, diskPoint: '', totalMs };
  const at = (name: string, nth = 1): number | undefined => {
    let seen = 0;
    for (const p of points) if (p.name === name && ++seen === nth) return p.ms;
    return undefined;
  };
  const commitBefore = names.indexOf(`${kind}.commit.before`);
  const stepsBeforeCommit = count(names.slice(0, commitBefore), `${kind}.prepare.step.after`);
  const starts: Omit<PhaseSpan, 'ms'>[] = [
    { phase: 'before journal', name: `${kind}.journal.before`, nth: 1 },
    ...(stepsBeforeCommit > 0 ? [{ phase: 'prepare' as const, name: `${kind}.journal.after`, nth: 1 }] : []),
    ...(names.includes(`${kind}.switch.before`) ? [{ phase: 'switch' as const, name: `${kind}.switch.before`, nth: 1 }] : []),
    names.includes(`${kind}.switch.after`) ? { phase: 'commit', name: `${kind}.switch.after`, nth: 1 }
      : stepsBeforeCommit > 0 ? { phase: 'commit', name: `${kind}.prepare.step.after`, nth: stepsBeforeCommit }
        : { phase: 'commit', name: `${kind}.journal.after`, nth: 1 },
    { phase: 'after', name: `${kind}.commit.after`, nth: 1 },
  ];
  const spans = starts.map((s, i) => {
    const from = at(s.name, s.nth) ?? 0;
    const next = starts[i + 1];
    const to = next ? at(next.name, next.nth) ?? totalMs : totalMs;
    return { ...s, ms: Math.max(0, to - from) };
  });
  const marker = diskPoint(kind, names);
  return { kind, spans, disks: count(names, marker), diskPoint: marker, totalMs };
}

/**
 * The failpoint that marks one disk done in prepare: offline, `<kind>.prepare.disk.after`;
 * for a live create, `live-create.node.after` (its overlay created and attached).
 */
function diskPoint(kind: string, names: readonly string[]): string {
  const live = `${kind}.node.after`;
  return !names.includes(`${kind}.prepare.disk.after`) && names.includes(live) ? live : `${kind}.prepare.disk.after`;
}

/** The phase a child that reached `names` (and nothing after) was in. */
export function landingOf(plan: PhasePlan, names: readonly string[], delay: number | 'stopped'): Landing {
  const lastPoint = names[names.length - 1];
  let phase: Phase = 'before journal';
  for (const s of plan.spans) if (count(names, s.name) >= s.nth) phase = s.phase;
  if (phase !== 'prepare' || plan.kind === undefined) return { phase, lastPoint, delay };
  return { phase, disksDone: count(names, plan.diskPoint), disks: plan.disks, lastPoint, delay };
}

/** How a landing reads in reports: `prepare (3 of 8 disks)`. */
export function landingText(l: Landing): string {
  return l.disks ? `${l.phase} (${l.disksDone} of ${l.disks} disks)` : l.phase;
}

/** One kill: the child's outcome and where it landed. */
export interface Kill {
  end: ChildOutcome;
  landing: Landing;
}

/** True once the process `pid` is stopped (state T in /proc), false if it is gone. */
async function waitStopped(pid: number): Promise<boolean> {
  for (;;) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) return false;
    // The state follows the command name in parentheses, which may itself hold spaces.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'T' || state === 't') return true;
    if (state === 'Z' || state === 'X') return false;
    await sleep(1);
  }
}

/**
 * Runs `op` on `stateDir` and kills it in `span`: stopped at the span's start, then let go
 * and killed `delay` ms later, or killed while still stopped.
 */
export async function killInPhase(stateDir: string, op: ChildOp, plan: PhasePlan, span: PhaseSpan, delay: number | 'stopped'): Promise<Kill> {
  const running = startChild(stateDir, op, `${span.name}=stop@${span.nth}`, { liveTrace: true });
  const reached = new Promise<void>((resolve) => {
    const check = (): void => { if (count(running.points.map((p) => p.name), span.name) >= span.nth) resolve(); };
    running.onPoint(check);
    check();
  });
  const settled = await Promise.race([reached.then(() => 'reached' as const), running.done.then(() => 'ended' as const)]);
  if (settled === 'reached' && await waitStopped(running.child.pid!)) {
    if (delay !== 'stopped') {
      running.child.kill('SIGCONT');
      await sleep(delay);
    }
    killGroup(running);
  }
  const end = await running.done;
  return { end, landing: landingOf(plan, running.points.map((p) => p.name), delay) };
}

/**
 * Random kills from spawn, for an operation that journals nothing (one SQLite transaction
 * under the lock): the landing is before (it had not finished) or after (it had).
 */
export async function killFromSpawn(stateDir: string, op: ChildOp, plan: PhasePlan, delay: number): Promise<Kill> {
  const running = startChild(stateDir, op, '', { liveTrace: true });
  await sleep(delay);
  killGroup(running);
  const end = await running.done;
  const landing: Landing = { phase: end.code === 0 ? 'after' : 'before journal', lastPoint: running.points.at(-1)?.name, delay };
  return { end, landing: plan.kind === undefined ? landing : landingOf(plan, running.points.map((p) => p.name), delay) };
}

/**
 * Kills aimed at every phase of `plan`, `rounds` times each. Each try runs `afterKill`
 * (recovery and the wholly-before-or-after check) before the next; a phase missed (the
 * kill landed later) is tried again, killed while stopped at its start.
 */
export async function killEveryPhase(
  plan: PhasePlan, rand: () => number, rounds: number,
  kill: (span: PhaseSpan, delay: number | 'stopped') => Promise<Kill>,
  afterKill: (k: Kill, label: string) => Promise<void>,
): Promise<Landing[]> {
  const landings: Landing[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const span of plan.spans) {
      const first = Math.floor(rand() * span.ms);
      for (const delay of [first, 'stopped'] as const) {
        const k = await kill(span, delay);
        await afterKill(k, `kill aimed at ${span.phase} (${delay === 'stopped' ? 'while stopped at its start' : `${delay} ms into it, of ${Math.round(span.ms)}`}), landed in ${landingText(k.landing)} after ${k.landing.lastPoint ?? 'no failpoint'}`);
        landings.push(k.landing);
        if (k.landing.phase === span.phase) break;
      }
    }
  }
  return landings;
}

/** The distribution of landings, one line: `before journal 4, prepare 6 (0/8: 1, 3/8: 2, …), …`. */
export function distributionText(landings: readonly Landing[]): string {
  return PHASES.flatMap((phase) => {
    const here = landings.filter((l) => l.phase === phase);
    if (here.length === 0) return [];
    const byDisks = new Map<string, number>();
    for (const l of here) if (l.disks) byDisks.set(`${l.disksDone}/${l.disks}`, (byDisks.get(`${l.disksDone}/${l.disks}`) ?? 0) + 1);
    const detail = byDisks.size > 0 ? ` (disks done: ${[...byDisks].sort().map(([k, n]) => `${k} ×${n}`).join(', ')})` : '';
    const stopped = here.filter((l) => l.delay === 'stopped').length;
    return [`${phase} ${here.length}${stopped > 0 ? ` (${stopped} at its start)` : ''}${detail}`];
  }).join('; ');
}

/** The phases of PHASES not in `landings` among `expected`. */
export function missingPhases(landings: readonly Landing[], expected: readonly Phase[]): Phase[] {
  return expected.filter((p) => !landings.some((l) => l.phase === p));
}
