/** Seeded randomness for the crash and fuzz suites: a failing run is replayed from its printed seed. */

export { prng } from '../helpers/seeded-random.js';

/** `count` distinct items of `items` (all of them when there are fewer), in their original order. */
export function sampleOf<T>(rand: () => number, items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  const indexes = items.map((_, i) => i);
  for (let i = indexes.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [indexes[i], indexes[j]] = [indexes[j]!, indexes[i]!];
  }
  return indexes.slice(0, count).sort((a, b) => a - b).map((i) => items[i]!);
}
