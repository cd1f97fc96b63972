/**
 * Parallel work inside a step: a step ends only when every part of it has settled, so no
 * part is still in flight when an undo (or the next step) starts; the first failure, in
 * the order the parts were given, is the one reported.
 */

/** Waits for every one of `work` to settle, then throws the first failure (none is left running behind). */
export async function settleAll(work: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
