/**
 * `npm run build`'s second step, after tsc: bundles the command line (dist/src/cli/main.js
 * and everything it imports, lazily or not) into one CommonJS script and writes V8's code
 * cache for it, which bin/snapvirt runs through src/cli/bundle-loader.cts. The library
 * (dist/src/index.js) stays as separate ES modules; only the CLI is bundled.
 *
 * Packages stay outside the bundle: better-sqlite3 is native, and libxml2-wasm is an ES
 * module with top-level await that CommonJS cannot hold (src/conf/xml-parse.ts imports it
 * through the loader). The code cache is made after running a few commands in this
 * process, so it holds the functions every start needs, not only the top level.
 */
import { build } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_FILE, CODE_CACHE_FILE, compileBundle, runBundle } from '../src/cli/bundle-loader.cjs';

const ENTRY = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** Commands run once to warm the code cache; their output is dropped. */
const WARM_UP: string[][] = [
  ['version'],
  ['-c', 'test:///default', 'list'],
  ['-c', 'test:///default', 'snapshot-create-as test s1; snapshot-list test --tree; snapshot-info test s1; snapshot-delete test s1'],
  ['-c', 'qemu:///session', 'list --all'],
];

async function bundle(): Promise<void> {
  const result = await build({
    entryPoints: [ENTRY],
    outfile: BUNDLE_FILE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['better-sqlite3', 'libxml2-wasm'],
    // import.meta.url means the bundle's own file, which sits beside main.js.
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: 'const __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    logLevel: 'warning',
  });
  if (result.errors.length > 0) throw new Error('esbuild failed');
}

/** Runs the warm-up commands in this process, then writes what V8 compiled. */
async function writeCodeCache(): Promise<void> {
  const script = compileBundle();
  const cli = runBundle(script);
  const stateDir = mkdtempSync(join(tmpdir(), 'snapvirt-bundle-'));
  const saved = process.env.SNAPVIRT_STATE_DIR;
  process.env.SNAPVIRT_STATE_DIR = stateDir;
  try {
    const silent = { out: () => {}, err: () => {} };
    // A command that fails here (no qemu-img, say) still warms what it ran.
    for (const argv of WARM_UP) await cli.main(argv, silent).catch(() => 1);
  } finally {
    if (saved === undefined) delete process.env.SNAPVIRT_STATE_DIR;
    else process.env.SNAPVIRT_STATE_DIR = saved;
    rmSync(stateDir, { recursive: true, force: true });
  }
  writeFileSync(CODE_CACHE_FILE, script.createCachedData());
}

// A cache from an earlier build must not outlive its bundle if this build fails halfway.
rmSync(CODE_CACHE_FILE, { force: true });
await bundle();
await writeCodeCache();
