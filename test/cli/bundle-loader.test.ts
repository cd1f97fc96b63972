import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BUNDLE_FILE, CODE_CACHE_FILE, bundleIsStale, compileBundle, readCodeCache, runBundle } from '../../src/cli/bundle-loader.cjs';
import { main as moduleMain } from '../../src/cli/main.js';

const BIN = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));

async function capture(run: typeof moduleMain, argv: string[]): Promise<{ out: string; err: string; status: number }> {
  let out = '';
  let err = '';
  const status = await run(argv, { out: (t) => { out += t; }, err: (t) => { err += t; } });
  return { out, err, status };
}

test('the build writes a code cache V8 accepts for the bundle', () => {
  const script = compileBundle(readFileSync(CODE_CACHE_FILE));
  assert.equal(script.cachedDataRejected, false);
  assert.equal(compileBundle(Buffer.from('not a code cache')).cachedDataRejected, true);
});

test('the bundled CLI answers as the modules do, including commands that load libxml2', async () => {
  const bundled = runBundle(compileBundle());
  assert.notEqual(bundled.main, moduleMain);
  for (const argv of [
    ['-c', 'test:///default', 'list'],
    ['-c', 'test:///default', 'snapshot-create-as test s1; snapshot-info test s1; snapshot-dumpxml test s1 --xpath //name; domblklist test'],
    ['-V'],
    ['-c', 'test:///default', 'snapshot-revert test nope'],
  ]) {
    assert.deepEqual(await capture(bundled.main, argv), await capture(moduleMain, argv), argv.join(' '));
  }
});

test('bin/snapvirt runs the bundle, not the modules', () => {
  // Which code ran is visible in a CPU profile: every function names its script.
  const dir = mkdtempSync(join(tmpdir(), 'snapvirt-bundle-'));
  try {
    const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, BIN, '-c', 'test:///default', 'list'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /1 {4}test {3}running/);
    const profile = readFileSync(join(dir, readdirSync(dir)[0] ?? 'none'), 'utf8');
    assert.ok(profile.includes(BUNDLE_FILE), 'the bundle ran');
    assert.ok(!profile.includes('dist/src/cli/main.js'), 'the modules did not');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bundle older than the last tsc build, or missing, is stale', () => {
  const dir = mkdtempSync(join(tmpdir(), 'snapvirt-stale-'));
  try {
    const bundle = join(dir, 'snapvirt-cli.cjs');
    const buildInfo = join(dir, '.tsbuildinfo');
    assert.equal(bundleIsStale(bundle, buildInfo), true, 'missing');
    writeFileSync(bundle, '');
    assert.equal(bundleIsStale(bundle, buildInfo), false, 'no build info: an installed package');
    writeFileSync(buildInfo, '');
    utimesSync(bundle, new Date(1000_000), new Date(1000_000));
    assert.equal(bundleIsStale(bundle, buildInfo), true, 'tsc ran after the bundle was made');
    utimesSync(buildInfo, new Date(500_000), new Date(500_000));
    assert.equal(bundleIsStale(bundle, buildInfo), false, 'the bundle is newer');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a code cache older than its bundle is not used (V8 would check only the length)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'snapvirt-cache-'));
  try {
    const bundle = join(dir, 'snapvirt-cli.cjs');
    const cache = join(dir, 'snapvirt-cli.cjs.cache');
    writeFileSync(bundle, 'x');
    assert.equal(readCodeCache(bundle, cache), undefined, 'no cache');
    writeFileSync(cache, 'code');
    utimesSync(bundle, new Date(500_000), new Date(500_000));
    assert.equal(readCodeCache(bundle, cache)?.toString(), 'code');
    utimesSync(cache, new Date(100_000), new Date(100_000));
    assert.equal(readCodeCache(bundle, cache), undefined, 'older than the bundle');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
