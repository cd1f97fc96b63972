/** Shared pieces of the fuzz suites: the seed, run counts, and the "clean outcome" check. */
import { VirError } from '../../src/api/errors.js';

/** SNAPVIRT_FUZZ_SEED replays a run; fast-check prints the seed and path of any failure too. */
export const FUZZ_SEED = Number(process.env.SNAPVIRT_FUZZ_SEED ?? 20261125);

/** SNAPVIRT_CRASH_FULL=1 (the full reliability run) fuzzes ten times longer. */
export const FUZZ_SCALE = process.env.SNAPVIRT_CRASH_FULL === '1' ? 10 : 1;

/** fast-check parameters for `runs` runs (scaled), with the fixed seed. */
export function fuzzParams(runs: number): { seed: number; numRuns: number; endOnFailure: true } {
  return { seed: FUZZ_SEED, numRuns: runs * FUZZ_SCALE, endOnFailure: true };
}

/**
 * Runs `fn` and says how it ended: 'ok', or 'vir-error'. Anything else thrown (a
 * TypeError, a RangeError from the stack, a wasm trap) is rethrown with the input, so the
 * property fails and fast-check shrinks and prints it.
 */
export function cleanOutcome(fn: () => unknown, input: string): 'ok' | 'vir-error' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof VirError) return 'vir-error';
    const e = err instanceof Error ? err : new Error(String(err));
    throw new Error(`not a VirError (${e.name}: ${e.message}) for input of ${input.length} chars: ${JSON.stringify(input.slice(0, 300))}`);
  }
}
