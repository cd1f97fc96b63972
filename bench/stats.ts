/**
 * Summaries of repeated timings. Medians, not means: a shared 2-core machine has
 * outliers (a background fsync, a scheduler hiccup) that would drag a mean around.
 */

/** Median, minimum and maximum of a series of timings in milliseconds. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** Summarises `samples` (at least one). */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('no samples to summarise');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs: sorted.length };
}

/** Runs `fn` `runs` times in sequence and summarises the milliseconds it reports or takes. */
export async function repeat(runs: number, fn: (run: number) => Promise<number | void>): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const reported = await fn(i);
    samples.push(typeof reported === 'number' ? reported : performance.now() - t0);
  }
  return summarize(samples);
}

/** A measurement that was abandoned because one run exceeded its time limit. */
export interface TimedOut {
  timedOut: string;
}

/**
 * Like {@link repeat}, but `fn` may throw a timeout error (any error whose name is
 * CommandTimeoutError): the case is then reported as timed out instead of failing the bench.
 */
export async function repeatWithLimit(runs: number, fn: (run: number) => Promise<number>): Promise<Summary | TimedOut> {
  try {
    return await repeat(runs, fn);
  } catch (err) {
    if (err instanceof Error && err.name === 'CommandTimeoutError') return { timedOut: err.message };
    throw err;
  }
}
