/**
 * Runs the bundled command line: dist/src/cli/snapvirt-cli.cjs, every CLI module in one
 * CommonJS script (built by scripts/bundle-cli.ts), compiled from the V8 code cache
 * written beside it at build time. Node 20 spends 0.5–1 ms resolving, reading and
 * compiling each ES module and has no compile cache of its own (module.enableCompileCache
 * came in Node 22); one script from a code cache starts in a few milliseconds instead of
 * the 30–80 ms the ~30–80 modules of a command cost (docs/PERFORMANCE.md, finding 4).
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

/** The bundle, next to the modules it was built from so that relative paths keep their meaning. */
export const BUNDLE_FILE = join(__dirname, 'snapvirt-cli.cjs');
/**
 * V8's code cache for BUNDLE_FILE. V8 rejects (and compiles normally) a cache made by
 * another V8 or with other flags, but of the source it checks only the length, so a cache
 * older than the bundle is never offered to it.
 */
export const CODE_CACHE_FILE = `${BUNDLE_FILE}.cache`;

/** What the bundle exports: src/cli/main.ts. */
export interface CliModule {
  main(argv: string[], io?: { out(text: string): void; err(text: string): void }): Promise<number>;
}

/** Matches src/conf/xml-parse.ts's ESM_IMPORTER. */
const ESM_IMPORTER = Symbol.for('snapvirt.esmImporter');

/** The CommonJS wrapper, the same at build time and at run time so the cache matches. */
function wrap(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}

/** Compiles the bundle, from `cachedData` when V8 accepts it. */
export function compileBundle(cachedData?: Buffer): Script {
  return new Script(wrap(readFileSync(BUNDLE_FILE, 'utf8')), { filename: BUNDLE_FILE, cachedData });
}

/** Runs the compiled bundle's top level and returns its exports. */
export function runBundle(script: Script): CliModule {
  // An import() inside a vm script has no loader on Node 20 without an experimental flag;
  // this module's own import() has one, so the bundle imports ES-only packages through it.
  (globalThis as { [ESM_IMPORTER]?: (specifier: string) => Promise<unknown> })[ESM_IMPORTER] ??=
    (specifier) => import(specifier);
  const module = { exports: {} as CliModule };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run(module.exports, createRequire(BUNDLE_FILE), module, BUNDLE_FILE, dirname(BUNDLE_FILE));
  return module.exports;
}

/** The code cache for `bundleFile`, unless it is missing or older than the bundle. */
export function readCodeCache(bundleFile: string, cacheFile: string): Buffer | undefined {
  const cache = statSync(cacheFile, { throwIfNoEntry: false });
  const bundle = statSync(bundleFile, { throwIfNoEntry: false });
  if (!cache || !bundle || cache.mtimeMs < bundle.mtimeMs) return undefined;
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

/** dist/.tsbuildinfo: tsc rewrites it on every build that changed something. */
const TSC_BUILD_INFO = join(__dirname, '..', '..', '.tsbuildinfo');

/**
 * Whether `bundleFile` is missing or older than the last `tsc` build (a developer who ran
 * only `tsc -p .`): then the modules themselves must run, or the CLI would be stale.
 * An installed package has no dist/.tsbuildinfo, and its bundle is used as it is.
 */
export function bundleIsStale(bundleFile: string, buildInfoFile: string): boolean {
  const bundle = statSync(bundleFile, { throwIfNoEntry: false });
  if (!bundle) return true;
  const build = statSync(buildInfoFile, { throwIfNoEntry: false });
  return build !== undefined && build.mtimeMs > bundle.mtimeMs;
}

/** The CLI's main module: the bundle from its code cache, or the modules if it is stale. */
export async function loadCli(): Promise<CliModule> {
  if (bundleIsStale(BUNDLE_FILE, TSC_BUILD_INFO)) return import('./main.js') as Promise<CliModule>;
  return runBundle(compileBundle(readCodeCache(BUNDLE_FILE, CODE_CACHE_FILE)));
}
