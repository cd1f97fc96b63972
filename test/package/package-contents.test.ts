/**
 * What `npm pack` would publish: the compiled library and CLI, their types, the bin, the
 * docs a user reads, LICENSE and CHANGELOG; no tests, no sources maps without sources, no
 * build state. Also package.json's metadata, and `npm start`'s cheap up-to-date check.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The files `npm pack` would put in the tarball (without running the prepack build). */
async function packedFiles(): Promise<string[]> {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
  const [report] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
  return report.files.map((f) => f.path).sort();
}

const ALLOWED = [
  /^package\.json$/, /^README\.md$/, /^LICENSE$/, /^LICENSES\/LGPL-2\.1-or-later\.txt$/, /^CHANGELOG\.md$/,
  /^bin\/(snapvirt|snapvirtd|package\.json)$/,
  /^dist\/src\/.+\.(js|cjs|d\.ts|d\.cts)$/, /^dist\/src\/cli\/snapvirt-cli\.cjs\.cache$/,
  /^docs\/(cli|library|COMPATIBILITY|RELIABILITY)\.md$/, /^docs\/api\/.+\.md$/,
];

test('npm pack ships the library, the CLI, their types and the user docs, and nothing else', async () => {
  const files = await packedFiles();
  const unexpected = files.filter((path) => !ALLOWED.some((re) => re.test(path)));
  assert.deepEqual(unexpected, [], 'files that should not be published');
  for (const required of [
    'package.json', 'README.md', 'LICENSE', 'LICENSES/LGPL-2.1-or-later.txt', 'CHANGELOG.md', 'bin/snapvirt', 'bin/snapvirtd', 'bin/package.json',
    'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/daemon/main.js', 'dist/src/cli/snapvirt-cli.cjs', 'dist/src/cli/bundle-loader.cjs',
    'docs/cli.md', 'docs/library.md', 'docs/api/index.md',
  ]) assert.ok(files.includes(required), `${required} is missing from the package`);
  assert.equal(files.filter((path) => path.endsWith('.map')).length, 0, 'source maps without their sources');
  assert.equal(files.filter((path) => /^(dist\/)?test\//.test(path)).length, 0, 'tests are not published');
  // Every module the package's entry points reach is in it (types beside code).
  for (const js of files.filter((path) => path.startsWith('dist/src/') && path.endsWith('.js') && !path.includes('/cli/'))) {
    assert.ok(files.includes(js.replace(/\.js$/, '.d.ts')), `${js} has no .d.ts`);
  }
});

test('package.json: MIT with a LICENSE file (and libvirt\'s LGPL for the protocol files), repository, homepage and bugs, no prepare step', async () => {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(pkg.license, 'MIT AND LGPL-2.1-or-later');
  assert.match(await readFile(join(root, 'LICENSE'), 'utf8'), /^MIT License\n/);
  assert.match(await readFile(join(root, 'LICENSES', 'LGPL-2.1-or-later.txt'), 'utf8'), /GNU LESSER GENERAL PUBLIC LICENSE\s+Version 2\.1/);
  for (const generated of ['remote-protocol', 'qemu-protocol', 'keepalive-protocol', 'virnet-protocol']) {
    assert.match(await readFile(join(root, 'src', 'rpc', 'generated', `${generated}.ts`), 'utf8'), /LGPL-2\.1-or-later/, generated);
  }
  for (const field of ['repository', 'homepage', 'bugs']) assert.ok(pkg[field], `${field} is missing`);
  const scripts = pkg.scripts as Record<string, string>;
  assert.equal(scripts.prepare, undefined, 'prepare runs on every install of a git dependency and needs the dev tools');
  assert.equal(scripts.prepack, 'npm run build', 'a packed tarball is built from the sources it ships with');
  assert.match(await readFile(join(root, 'CHANGELOG.md'), 'utf8'), /^# Changelog\n/);
});

test('npm start builds only when a source is newer than the build', async () => {
  const check = async (): Promise<string> =>
    (await run(process.execPath, [join(root, 'scripts', 'build-if-stale.mjs'), '--check'], { cwd: root })).stdout.trim();
  const source = join(root, 'src', 'index.ts');
  const bundle = join(root, 'dist', 'src', 'cli', 'snapvirt-cli.cjs');
  const sourceTimes = await stat(source);
  const bundleTimes = await stat(bundle);
  const later = (date: Date, minutes: number): Date => new Date(date.getTime() + minutes * 60_000);
  try {
    // A build newer than every source is current (the bundle is written last by a build)...
    await utimes(bundle, bundleTimes.atime, later(new Date(), 60));
    assert.equal(await check(), 'current');
    // ...and a source changed after it makes it stale.
    await utimes(source, sourceTimes.atime, later(new Date(), 120));
    assert.equal(await check(), 'stale');
  } finally {
    await utimes(source, sourceTimes.atime, sourceTimes.mtime);
    await utimes(bundle, bundleTimes.atime, bundleTimes.mtime);
  }
});
