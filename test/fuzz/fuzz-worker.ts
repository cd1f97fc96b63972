/**
 * Runs fuzz properties in a worker thread, so that a parser stuck in a synchronous loop
 * (which no timer in the same thread can interrupt) is seen as a hang and the worker is
 * terminated: the test fails instead of never finishing. Without workerData this file
 * does nothing (`node --test dist/test/` imports every file under test/).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

/** What the worker reports after each property. */
export interface PropertyResult {
  property: string;
  ok: boolean;
  message?: string;
}

interface FuzzJob {
  moduleUrl: string;
  properties: string[];
}

if (!isMainThread && (workerData as FuzzJob | undefined)?.moduleUrl) {
  const job = workerData as FuzzJob;
  const mod = (await import(job.moduleUrl)) as Record<string, unknown>;
  for (const property of job.properties) {
    let result: PropertyResult;
    try {
      const fn = mod[property];
      if (typeof fn !== 'function') throw new Error(`no property '${property}' in ${job.moduleUrl}`);
      await (fn as () => unknown)();
      result = { property, ok: true };
    } catch (err) {
      result = { property, ok: false, message: err instanceof Error ? err.message : String(err) };
    }
    parentPort!.postMessage(result);
  }
}

/**
 * Runs the exports `properties` of `moduleUrl`, in order, in one worker. Resolves to one
 * result per property; a property that does not finish within `limitMs` of the previous
 * one is reported as a hang (and the worker terminated, the rest not run).
 */
export async function runPropertiesInWorker(moduleUrl: string, properties: string[], limitMs: number): Promise<PropertyResult[]> {
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { moduleUrl, properties } satisfies FuzzJob });
  const results: PropertyResult[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          results.push({ property: properties[results.length]!, ok: false, message: `HANG: did not finish within ${limitMs} ms` });
          resolve();
        }, limitMs);
      };
      arm();
      worker.on('message', (m: PropertyResult) => {
        results.push(m);
        if (results.length === properties.length) resolve();
        else arm();
      });
      worker.once('error', reject);
      worker.once('exit', (code) => {
        if (results.length < properties.length) {
          results.push({ property: properties[results.length]!, ok: false, message: `worker exited (${code}) without a result` });
        }
        resolve();
      });
    });
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
  return results;
}
