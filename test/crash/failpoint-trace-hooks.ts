/**
 * A module load hook (node:module register) that makes src/txn/failpoints.js report every
 * failpoint reached to `globalThis.__snapvirtFailpointTrace`, so the crash matrix can
 * discover which failpoints an operation reaches, and how often, in one run. It rewrites
 * the compiled module in memory only; src/ stays as it is. If the function's shape ever
 * changes the hook refuses to load the module, so discovery fails loudly, never silently.
 */
interface LoadResult {
  format?: string;
  source?: string | ArrayBuffer | Uint8Array;
  shortCircuit?: boolean;
}
type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;

const ENTRY = 'export function failpoint(name) {';

/** The load hook: only dist/src/txn/failpoints.js is touched. */
export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  const result = await nextLoad(url, context);
  if (!url.endsWith('/src/txn/failpoints.js') || result.source === undefined) return result;
  const text = typeof result.source === 'string' ? result.source : new TextDecoder().decode(result.source);
  if (!text.includes(ENTRY)) {
    throw new Error(`failpoint trace hook: '${ENTRY}' not found in ${url}; update test/crash/failpoint-trace-hooks.ts`);
  }
  const traced = text.replace(ENTRY, `${ENTRY}\n    globalThis.__snapvirtFailpointTrace?.(name);`);
  return { ...result, source: traced };
}
