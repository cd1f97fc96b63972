/**
 * The crash matrix engine: for one world (offline here, running in live-world.ts),
 * discovers the failpoints its operation reaches (a traced run, see
 * failpoint-trace-hooks.ts), enumerates the cases (every reached point and hit ×
 * {error, crash}; every undo point of the in-process rollback; every recovery point after
 * a crash, × {error, crash}), and runs a case: pristine world, the operation in a child
 * process with the failpoint, recovery in a second child process, then the picture, which
 * must be wholly the before or wholly the after picture (the after picture comes from
 * running the operation once without failpoints).
 *
 * Which side a case must end on follows from the clean trace: a point reached at or after
 * the decision (`<kind>.switch.after` for a live switch, else `<kind>.commit.after`) is
 * after. For live creates, the switch decides: recovery rolls a switched entry forward
 * (and, for a group, one whose switch a crash cut between two QEMUs: forwardOnCrash; for a
 * live revert, a point past its switch marker, where an error goes forward too: forwardOnError).
 */
import { join } from 'node:path';
import {
  buildWorld, outcomeText, resetWorld, runChild, worldPictureOf, type BuiltWorld, type ChildOutcome, type Scenario,
} from './crash-world.js';
import type { ChildOp } from './crash-child.js';
import { classify, describeDifference, type WorldPicture } from './world-state.js';

/** One case: failpoints for the operation, then (optionally) for the first recovery. */
export interface CrashCase {
  /** SNAPVIRT_FAILPOINTS for the operation's child. */
  opFailpoints: string;
  /** SNAPVIRT_FAILPOINTS for the first recovery child (crash or fail recovery itself). */
  recoveryFailpoints?: string;
  /** Which side the world must end on: the commit point (or a live switch) decides. */
  expect: 'before' | 'after';
  /** True when the operation's child must be SIGKILLed (else it must fail with the failpoint's error). */
  opCrashes: boolean;
  /** The failpoint whose error the operation must report, when it does not crash. */
  errorPoint?: string;
  /** An error past the decision that the operation logs (and goes on, or leaves to recovery): it reports success. */
  opSucceeds?: boolean;
}

/** What the engine needs of a world: how to reset it, picture it, and what its operation is. */
export interface MatrixWorld<P> {
  name: string;
  stateDir: string;
  op: ChildOp;
  before: P;
  /** Puts the pristine world back (and, for a live world, starts its QEMU). */
  reset(): Promise<void>;
  /** Takes the picture through a fresh connection (recovery runs first). */
  picture(): Promise<P>;
  /** Failpoints whose `error` action does not surface as `failpoint NAME`, with the error they give. */
  errorText?: Record<string, RegExp>;
  /**
   * Failpoints (`name@n`, the n-th hit) inside a switch of several QEMUs, reached once one
   * of them has switched: a crash there is finished by recovery (it asks each QEMU), so
   * the world must end after although the point comes before `<kind>.switch.after`.
   */
  forwardOnCrash?: string[];
  /**
   * Failpoints (`name@n`) past a decision the operation makes inside its switch (a live
   * revert's durable marker): an error there is warned about and the operation goes on,
   * so it succeeds and the world ends after, as a crash there does.
   */
  forwardOnError?: string[];
  /**
   * Operation failpoints (`name=error@n`) of a documented gap, left out of the matrix and
   * run as a failing test of known-failures.ts instead (docs/RELIABILITY.md says why).
   */
  knownFailures?: string[];
  /** The files of the image directories in a picture (to check new files are 0600). */
  imageEntries(p: P): string[];
}

/** A world ready to run cases on. */
export interface PreparedMatrix<P> {
  world: MatrixWorld<P>;
  after: P;
  cases: CrashCase[];
  /** Failpoints (with hit counts) reached by a clean run, for the report. */
  reached: Map<string, number>;
}

/** An offline scenario ready to run cases on. */
export type PreparedScenario = PreparedMatrix<WorldPicture> & { built: BuiltWorld };

/** Sums a trace into failpoint → number of hits. */
function countHits(trace: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const name of trace) m.set(name, (m.get(name) ?? 0) + 1);
  return m;
}

/** Each hit of the trace, with its position: `point` → positions of its 1st, 2nd… hit. */
function hitPositions(trace: string[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  trace.forEach((name, i) => m.set(name, [...(m.get(name) ?? []), i]));
  return m;
}

function fail(name: string, what: string, o: ChildOutcome): Error {
  return new Error(`${name}: ${what}: ${outcomeText(o)}`);
}

/** Builds an offline scenario under `base` and lists every case. */
export async function prepareScenario(base: string, scenario: Scenario): Promise<PreparedScenario> {
  const built = await buildWorld(join(base), scenario);
  const world: MatrixWorld<WorldPicture> = {
    name: scenario.name,
    stateDir: built.dirs.stateDir,
    op: built.op,
    before: built.before,
    reset: () => resetWorld(built),
    picture: () => worldPictureOf(built.dirs, scenario),
    imageEntries: (p) => p.images.flat(),
  };
  return { ...await prepareMatrix(world), built };
}

/** Takes the after picture and the traces of `world`'s operation, and lists every case. */
export async function prepareMatrix<P>(world: MatrixWorld<P>): Promise<PreparedMatrix<P>> {
  const { op, stateDir, name } = world;

  // The after state, and the clean trace: which failpoints the operation reaches.
  await world.reset();
  const clean = await runChild(stateDir, op, '', { trace: true });
  if (clean.code !== 0 || !clean.report?.ok) throw fail(name, 'the operation fails without failpoints', clean);
  const trace = clean.report.trace;
  if (trace.length === 0) throw fail(name, 'the trace is empty (is the trace hook loaded?)', clean);
  const after = await world.picture();
  if (JSON.stringify(after) === JSON.stringify(world.before)) throw new Error(`${name}: the operation changed nothing`);
  const reached = countHits(trace);
  // Safe by default (docs/ARCHITECTURE.md): every file the operation creates is private.
  const existed = new Set(world.imageEntries(world.before));
  const notPrivate = world.imageEntries(after).filter((e) => !existed.has(e) && !/ 600 file$/.test(e));
  if (notPrivate.length > 0) throw new Error(`${name}: new files not mode 0600: ${notPrivate.join(', ')}`);

  const kind = trace.find((p) => p.endsWith('.journal.before'))?.replace(/\.journal\.before$/, '');
  // The decision: a live switch when there is one, else the commit.
  const decidedBy = kind === undefined ? undefined
    : reached.has(`${kind}.switch.after`) ? `${kind}.switch` : `${kind}.commit`;
  const decision = decidedBy === undefined ? trace.length : trace.indexOf(`${decidedBy}.after`);
  const finalizeFrom = kind === undefined ? -1 : trace.indexOf(`${kind}.finalize.before`);
  const finalizeTo = kind === undefined ? -1 : trace.indexOf(`${kind}.finalize.after`);

  const cases: CrashCase[] = [];
  const forward = new Set(world.forwardOnCrash ?? []);
  const errorForward = new Set(world.forwardOnError ?? []);
  for (const [point, positions] of hitPositions(trace)) {
    positions.forEach((pos, i) => {
      const at = positions.length > 1 ? `@${i + 1}` : '';
      const expect = pos >= decision ? 'after' : 'before';
      const decided = errorForward.has(`${point}@${i + 1}`);
      // Post-commit work logs its failures and leaves them to recovery: the operation succeeded.
      const opSucceeds = decided || (finalizeFrom >= 0 && pos > finalizeFrom && pos < finalizeTo);
      cases.push({
        opFailpoints: `${point}=error${at}`, expect: decided ? 'after' : expect, opCrashes: false, errorPoint: point, ...(opSucceeds ? { opSucceeds } : {}),
      });
      cases.push({ opFailpoints: `${point}=crash${at}`, expect: forward.has(`${point}@${i + 1}`) || decided ? 'after' : expect, opCrashes: true });
    });
  }

  if (kind !== undefined && decidedBy !== undefined) {
    // The in-process rollback: an error at the last point before the decision undoes every
    // prepared step; crash or fail at each undo point along the way.
    const trigger = `${decidedBy}.before=error`;
    await world.reset();
    const undoRun = await runChild(stateDir, op, trigger, { trace: true });
    if (undoRun.code !== 2) throw fail(name, `${trigger} did not fail the operation`, undoRun);
    for (const [point, hits] of countHits(undoRun.report?.trace ?? [])) {
      if (!point.includes('.undo.')) continue;
      for (let n = 1; n <= hits; n++) {
        cases.push({ opFailpoints: `${trigger},${point}=crash@${n}`, expect: 'before', opCrashes: true });
        cases.push({ opFailpoints: `${trigger},${point}=error@${n}`, expect: 'before', opCrashes: false, errorPoint: `${decidedBy}.before` });
      }
    }

    // Recovery itself: after a crash just before the decision (roll back) and just after it (finish).
    for (const [crashAt, expect] of [[`${decidedBy}.before`, 'before'], [`${decidedBy}.after`, 'after']] as const) {
      await world.reset();
      const crashed = await runChild(stateDir, op, `${crashAt}=crash`);
      if (crashed.signal !== 'SIGKILL') throw fail(name, `${crashAt}=crash did not kill the child`, crashed);
      const recovery = await runChild(stateDir, { op: 'open' }, '', { trace: true });
      if (recovery.code !== 0) throw fail(name, `recovery after ${crashAt}=crash failed`, recovery);
      for (const [point, hits] of countHits(recovery.report?.trace ?? [])) {
        for (let n = 1; n <= hits; n++) {
          for (const action of ['crash', 'error']) {
            cases.push({ opFailpoints: `${crashAt}=crash`, recoveryFailpoints: `${point}=${action}@${n}`, expect, opCrashes: true });
          }
        }
      }
    }
  }
  const known = new Set(world.knownFailures ?? []);
  return { world, after, cases: cases.filter((c) => c.recoveryFailpoints !== undefined || !known.has(c.opFailpoints)), reached };
}

/** The label of a case in failure messages. */
export function caseLabel(c: CrashCase): string {
  return `[${c.opFailpoints}${c.recoveryFailpoints ? ` | recovery: ${c.recoveryFailpoints}` : ''}]`;
}

/** Runs one case; resolves to undefined when the world ended wholly on the expected side, else a description. */
export async function runCase<P>(p: PreparedMatrix<P>, c: CrashCase): Promise<string | undefined> {
  const { world } = p;
  const { stateDir } = world;
  const label = caseLabel(c);
  await world.reset();
  const opRun = await runChild(stateDir, world.op, c.opFailpoints);
  if (c.opCrashes) {
    if (opRun.signal !== 'SIGKILL' || opRun.hung) return `${label} the operation was not killed at the failpoint: ${outcomeText(opRun)}`;
  } else if (c.opSucceeds) {
    if (opRun.code !== 0) return `${label} a post-commit failure made the operation fail: ${outcomeText(opRun)}`;
  } else {
    const expected = world.errorText?.[c.errorPoint ?? ''];
    const error = opRun.report?.error ?? '';
    const right = expected ? expected.test(error) : error.includes(`failpoint ${c.errorPoint}`);
    if (opRun.code !== 2 || !right) return `${label} the operation did not fail with the failpoint's error: ${outcomeText(opRun)}`;
  }
  if (c.recoveryFailpoints !== undefined) {
    const first = await runChild(stateDir, { op: 'open' }, c.recoveryFailpoints);
    if (first.hung || first.code === 3) return `${label} recovery with failpoints hung or threw a non-VirError: ${outcomeText(first)}`;
  }
  // A new process: opening runs recovery; it must succeed outright.
  const recovery = await runChild(stateDir, { op: 'open' }, '');
  if (recovery.code !== 0) return `${label} recovery in a new process failed: ${outcomeText(recovery)}`;
  return judgeRecoveredWorld(p, c, label);
}

/** Takes the recovered world's picture: undefined when it is wholly on `c.expect`'s side, else what is wrong. */
export async function judgeRecoveredWorld<P>(p: PreparedMatrix<P>, c: CrashCase, label: string): Promise<string | undefined> {
  const { world } = p;
  const picture = await world.picture();
  const side = classify(picture, world.before, p.after);
  if (side === c.expect) return undefined;
  if (side === undefined) {
    return `${label} neither before nor after. Difference from ${c.expect}:\n${describeDifference(picture, c.expect === 'before' ? world.before : p.after)}`;
  }
  return `${label} wholly ${side}, but ${c.expect} was expected (the commit point decides)`;
}
