/**
 * The crash matrix engine: for one scenario, discovers the failpoints its operation
 * reaches (a traced run, see failpoint-trace-hooks.ts), enumerates the cases (every
 * reached point and hit × {error, crash}; every undo point of the in-process rollback;
 * every recovery point after a crash, × {error, crash}), and runs a case: pristine world,
 * the operation in a child process with the failpoint, recovery in a second child process,
 * then the picture, which must be wholly the before or wholly the after picture (the
 * after picture comes from running the operation once without failpoints).
 */
import { join } from 'node:path';
import {
  buildWorld, DOMAIN, outcomeText, resetWorld, runChild, type BuiltWorld, type ChildOutcome, type Scenario,
} from './crash-world.js';
import { classify, describeDifference, pictureOf, type WorldPicture } from './world-state.js';

/** One case: failpoints for the operation, then (optionally) for the first recovery. */
export interface CrashCase {
  /** SNAPVIRT_FAILPOINTS for the operation's child. */
  opFailpoints: string;
  /** SNAPVIRT_FAILPOINTS for the first recovery child (crash or fail recovery itself). */
  recoveryFailpoints?: string;
  /** Which side the world must end on: the commit point decides. */
  expect: 'before' | 'after';
  /** True when the operation's child must be SIGKILLed (else it must fail with the failpoint's error). */
  opCrashes: boolean;
  /** The failpoint whose error the operation must report, when it does not crash. */
  errorPoint?: string;
}

/** A scenario ready to run cases on. */
export interface PreparedScenario {
  world: BuiltWorld;
  after: WorldPicture;
  cases: CrashCase[];
  /** Failpoints (with hit counts) reached by a clean run, for the report. */
  reached: Map<string, number>;
}

/** Sums a trace into failpoint → number of hits. */
function countHits(trace: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const name of trace) m.set(name, (m.get(name) ?? 0) + 1);
  return m;
}

/** Past the commit point (and so "after") for operation failpoints. */
function isPastCommit(point: string): boolean {
  return /\.(commit\.after|finalize\.(before|after))$/.test(point);
}

function fail(world: BuiltWorld, what: string, o: ChildOutcome): Error {
  return new Error(`${world.scenario.name}: ${what}: ${outcomeText(o)}`);
}

/** Builds the world under `base`, takes the after picture and the traces, and lists every case. */
export async function prepareScenario(base: string, scenario: Scenario): Promise<PreparedScenario> {
  const world = await buildWorld(join(base), scenario);
  const { op } = world;
  const stateDir = world.dirs.stateDir;

  // The after state, and the clean trace: which failpoints the operation reaches.
  await resetWorld(world);
  const clean = await runChild(stateDir, op, '', { trace: true });
  if (clean.code !== 0 || !clean.report?.ok) throw fail(world, 'the operation fails without failpoints', clean);
  if (clean.report.trace.length === 0) throw fail(world, 'the trace is empty (is the trace hook loaded?)', clean);
  const after = await pictureOf(world.dirs, DOMAIN);
  if (JSON.stringify(after) === JSON.stringify(world.before)) throw new Error(`${scenario.name}: the operation changed nothing`);
  const reached = countHits(clean.report.trace);
  // Safe by default (DESIGN.md): every file the operation creates is private.
  const existed = new Set(world.before.images.flat());
  const notPrivate = after.images.flat().filter((e) => !existed.has(e) && !/ 600 file$/.test(e));
  if (notPrivate.length > 0) throw new Error(`${scenario.name}: new files not mode 0600: ${notPrivate.join(', ')}`);

  const cases: CrashCase[] = [];
  for (const [point, hits] of reached) {
    for (let n = 1; n <= hits; n++) {
      const at = hits > 1 ? `@${n}` : '';
      const expect = isPastCommit(point) ? 'after' : 'before';
      cases.push({ opFailpoints: `${point}=error${at}`, expect, opCrashes: false, errorPoint: point });
      cases.push({ opFailpoints: `${point}=crash${at}`, expect, opCrashes: true });
    }
  }

  // The in-process rollback: an error at the last point before the commit undoes every
  // prepared step; crash or fail at each undo point along the way.
  const kind = [...reached.keys()].find((p) => p.endsWith('.commit.before'))?.replace(/\.commit\.before$/, '');
  if (kind !== undefined) {
    const trigger = `${kind}.commit.before=error`;
    await resetWorld(world);
    const undoRun = await runChild(stateDir, op, trigger, { trace: true });
    if (undoRun.code !== 2) throw fail(world, `${trigger} did not fail the operation`, undoRun);
    for (const [point, hits] of countHits(undoRun.report?.trace ?? [])) {
      if (!point.includes('.undo.')) continue;
      for (let n = 1; n <= hits; n++) {
        cases.push({ opFailpoints: `${trigger},${point}=crash@${n}`, expect: 'before', opCrashes: true });
        cases.push({ opFailpoints: `${trigger},${point}=error@${n}`, expect: 'before', opCrashes: false, errorPoint: `${kind}.commit.before` });
      }
    }

    // Recovery itself: after a crash before the commit point (roll back) and after it (finish).
    for (const [crashAt, expect] of [[`${kind}.commit.before`, 'before'], [`${kind}.commit.after`, 'after']] as const) {
      await resetWorld(world);
      const crashed = await runChild(stateDir, op, `${crashAt}=crash`);
      if (crashed.signal !== 'SIGKILL') throw fail(world, `${crashAt}=crash did not kill the child`, crashed);
      const recovery = await runChild(stateDir, { op: 'open' }, '', { trace: true });
      if (recovery.code !== 0) throw fail(world, `recovery after ${crashAt}=crash failed`, recovery);
      for (const [point, hits] of countHits(recovery.report?.trace ?? [])) {
        for (let n = 1; n <= hits; n++) {
          for (const action of ['crash', 'error']) {
            cases.push({ opFailpoints: `${crashAt}=crash`, recoveryFailpoints: `${point}=${action}@${n}`, expect, opCrashes: true });
          }
        }
      }
    }
  }
  return { world, after, cases, reached };
}

/** Runs one case; resolves to undefined when the world ended wholly on the expected side, else a description. */
export async function runCase(p: PreparedScenario, c: CrashCase): Promise<string | undefined> {
  const { world } = p;
  const stateDir = world.dirs.stateDir;
  const label = `[${c.opFailpoints}${c.recoveryFailpoints ? ` | recovery: ${c.recoveryFailpoints}` : ''}]`;
  await resetWorld(world);
  const opRun = await runChild(stateDir, world.op, c.opFailpoints);
  if (c.opCrashes) {
    if (opRun.signal !== 'SIGKILL' || opRun.hung) return `${label} the operation was not killed at the failpoint: ${outcomeText(opRun)}`;
  } else if (opRun.code !== 2 || !opRun.report?.error?.includes(`failpoint ${c.errorPoint}`)) {
    return `${label} the operation did not fail with the failpoint's error: ${outcomeText(opRun)}`;
  }
  if (c.recoveryFailpoints !== undefined) {
    const first = await runChild(stateDir, { op: 'open' }, c.recoveryFailpoints);
    if (first.hung || first.code === 3) return `${label} recovery with failpoints hung or threw a non-VirError: ${outcomeText(first)}`;
  }
  // A new process: opening runs recovery; it must succeed outright.
  const recovery = await runChild(stateDir, { op: 'open' }, '');
  if (recovery.code !== 0) return `${label} recovery in a new process failed: ${outcomeText(recovery)}`;
  const picture = await pictureOf(world.dirs, DOMAIN);
  const side = classify(picture, world.before, p.after);
  if (side === c.expect) return undefined;
  if (side === undefined) {
    return `${label} neither before nor after. Difference from ${c.expect}:\n${describeDifference(picture, c.expect === 'before' ? world.before : p.after)}`;
  }
  return `${label} wholly ${side}, but ${c.expect} was expected (the commit point decides)`;
}
