/**
 * One writer per domain inside this process: mutating calls on the same domain run one
 * after another. Across processes the SQLite write transaction serialises the commit
 * point, and an open journal entry makes a second writer refuse (see the driver).
 */
const tails = new Map<string, Promise<unknown>>();

/** Runs `fn` once every earlier call for `key` has settled. */
export async function withDomainLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(fn);
  const tail = run.catch(() => undefined);
  tails.set(key, tail);
  try {
    return await run;
  } finally {
    if (tails.get(key) === tail) tails.delete(key);
  }
}
