/**
 * Named failpoints, gofail style (etcd): code calls `failpoint('create.journal.after')` at
 * each durable step; a test enables one through the environment and the process fails or
 * dies right there.
 *
 *   SNAPVIRT_FAILPOINTS='create.prepare.step.after=crash@2,revert.commit.before=error'
 *
 * The command line (and any process that calls requireTestingSwitch()) honours them only
 * with SNAPVIRT_TESTING=1 also set.
 *
 * Actions: `error` throws a VirError (internal error: failpoint NAME); `crash` SIGKILLs the
 * process on the spot (no finally blocks, no exit handlers: the closest thing to a power
 * cut a test can cheaply get); `stop` SIGSTOPs the process right there and carries on
 * when it gets SIGCONT, so a test can change the world outside it (kill its QEMU, fill a
 * disk) at an exact point of an operation. `@N` fires only on the N-th time the point is reached in
 * this process, so a test can stop in the middle of a loop over disks.
 *
 * Naming scheme: `<op>.<phase>[.step].before|after`. Every name is declared once, in
 * FAILPOINTS below or by declareFailpoints(), so a test can iterate all of them and a
 * typo (in code or in the environment) is an error rather than a silently dead point.
 */
import { VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';

/** The operation kinds the engine runs; each gets the generic per-phase failpoints. */
export const OPERATION_KINDS = ['create', 'revert', 'delete', 'redefine', 'define', 'undefine'] as const;

/**
 * The generic failpoints every operation kind has, in protocol order. `prepare.step.*` and
 * `undo.step.*` are reached once per step (use `@N` to pick one).
 */
export const OPERATION_PHASE_POINTS = [
  'journal.before',
  'journal.after',
  'prepare.step.before',
  'prepare.step.after',
  'switch.before',
  'switch.after',
  'commit.before',
  'commit.after',
  'finalize.before',
  'finalize.after',
  'undo.step.before',
  'undo.step.after',
] as const;

/** Failpoints inside recovery, so tests can crash recovery itself and check it is idempotent. */
export const RECOVERY_POINTS = [
  'recover.entry.before',
  'recover.undo.resource.before',
  'recover.undo.resource.after',
  'recover.close.before',
] as const;

/** Failpoints inside the domain lock. */
export const LOCK_POINTS = ['lock.acquire.after'] as const;

const declared = new Set<string>([
  ...OPERATION_KINDS.flatMap((op) => OPERATION_PHASE_POINTS.map((p) => `${op}.${p}`)),
  ...RECOVERY_POINTS,
  ...LOCK_POINTS,
]);

/** Every failpoint declared at import time of this module (the built-in set). */
export const FAILPOINTS: readonly string[] = Object.freeze([...declared]);

/** Declares extra failpoint names (a driver's own steps). Idempotent. */
export function declareFailpoints(names: readonly string[]): void {
  for (const name of names) {
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(name)) {
      throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE, `invalid failpoint name '${name}'`);
    }
    declared.add(name);
  }
}

/** Declares an extra operation kind, with all the generic per-phase failpoints. */
export function declareOperationKind(op: string): void {
  declareFailpoints(OPERATION_PHASE_POINTS.map((p) => `${op}.${p}`));
}

/** True when `op` has its per-phase failpoints declared (built in or declared later). */
export function isOperationKindDeclared(op: string): boolean {
  return OPERATION_PHASE_POINTS.every((p) => declared.has(`${op}.${p}`));
}

/** All declared failpoint names, built in and declared later, sorted. */
export function listFailpoints(): string[] {
  return [...declared].sort();
}

/** What an enabled failpoint does. */
export type FailpointAction = 'error' | 'crash' | 'stop';

interface FailpointSpec {
  action: FailpointAction;
  /** Fire only on this hit (1-based); undefined fires on every hit. */
  nth: number | undefined;
}

let parsedFrom: string | undefined;
let parsed = new Map<string, FailpointSpec>();
const hits = new Map<string, number>();

/** Parses a SNAPVIRT_FAILPOINTS value; throws on bad syntax. */
export function parseFailpointSpec(text: string): Map<string, FailpointSpec> {
  const out = new Map<string, FailpointSpec>();
  for (const raw of text.split(/[,;]/)) {
    const item = raw.trim();
    if (item === '') continue;
    const m = /^([^=\s]+)=(error|crash|stop)(?:@([1-9][0-9]*))?$/.exec(item);
    if (!m) {
      throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE,
        `invalid SNAPVIRT_FAILPOINTS entry '${item}' (expected name=error|crash|stop[@N])`);
    }
    out.set(m[1]!, { action: m[2] as FailpointAction, nth: m[3] === undefined ? undefined : Number(m[3]) });
  }
  return out;
}

/** The variable that must be `1` beside SNAPVIRT_FAILPOINTS once requireTestingSwitch() was called. */
export const TESTING_SWITCH = 'SNAPVIRT_TESTING';

let switchRequired = false;

/**
 * From now on, this process honours SNAPVIRT_FAILPOINTS only while SNAPVIRT_TESTING=1 is
 * also set. The shipped command line calls it first thing, so a stray variable in a
 * user's environment can never make a real operation fail or the process kill itself on
 * purpose. Returns the warning to print: failpoints active, or the variable ignored;
 * undefined when none is set.
 */
export function requireTestingSwitch(): string | undefined {
  switchRequired = true;
  const spec = process.env['SNAPVIRT_FAILPOINTS'] ?? '';
  if (spec.trim() === '') return undefined;
  if (process.env[TESTING_SWITCH] !== '1') {
    return `ignoring SNAPVIRT_FAILPOINTS: failpoints are honoured only when ${TESTING_SWITCH}=1 is also set`;
  }
  return `failpoints are active (${TESTING_SWITCH}=1): ${spec}`;
}

function enabledSpecs(): Map<string, FailpointSpec> {
  const env = switchRequired && process.env[TESTING_SWITCH] !== '1' ? '' : process.env['SNAPVIRT_FAILPOINTS'] ?? '';
  if (env !== parsedFrom) {
    parsed = parseFailpointSpec(env);
    parsedFrom = env;
    hits.clear();
  }
  return parsed;
}

/**
 * Marks a failpoint. Does nothing unless SNAPVIRT_FAILPOINTS enables `name`. Throws on an
 * undeclared name, and on an environment that enables an undeclared name, so neither a
 * code typo nor a test typo goes unnoticed.
 */
export function failpoint(name: string): void {
  if (!declared.has(name)) {
    throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE, `undeclared failpoint '${name}'`);
  }
  const specs = enabledSpecs();
  if (specs.size === 0) return;
  for (const key of specs.keys()) {
    if (!declared.has(key)) {
      throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE,
        `SNAPVIRT_FAILPOINTS names undeclared failpoint '${key}'`);
    }
  }
  const spec = specs.get(name);
  if (!spec) return;
  const hit = (hits.get(name) ?? 0) + 1;
  hits.set(name, hit);
  if (spec.nth !== undefined && spec.nth !== hit) return;
  if (spec.action === 'crash') {
    process.kill(process.pid, 'SIGKILL');
  }
  if (spec.action === 'stop') {
    // kill() to oneself delivers the signal before it returns: nothing runs until SIGCONT.
    process.kill(process.pid, 'SIGSTOP');
    return;
  }
  throw virError(VirErrorCode.INTERNAL_ERROR, VirErrorDomain.NONE, `failpoint ${name}`);
}
