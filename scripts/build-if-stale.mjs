// `npm start`'s build step: runs `npm run build` only when a source is newer than the
// build's outputs, so a second `npm start` starts at once. Plain JavaScript, because it
// must run before anything is compiled. A cheap check (file times, no hashing): a build
// is never skipped when something it reads changed after it last ran.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const INPUT_DIRS = ['src', 'demo', 'scripts', 'test', 'bench'];
const INPUT_FILES = ['tsconfig.json', 'package.json', 'package-lock.json'];
// The bundle is written last by every `npm run build` (tsc leaves unchanged outputs alone,
// so their times say nothing), and the demo must exist.
const OUTPUTS = ['dist/src/cli/snapvirt-cli.cjs', 'dist/demo/main.js'];

/** Modification time in ms, or undefined for a missing file. */
function mtimeOf(path) {
  try { return statSync(path).mtimeMs; } catch { return undefined; }
}

/** The newest modification time of the .ts sources under `dir` (0 when there is none). */
function newestUnder(dir) {
  let newest = 0;
  let entries;
  try { entries = readdirSync(dir, { withFileTypes: true, recursive: true }); } catch { return 0; }
  for (const entry of entries) {
    if (entry.isFile() && /\.c?ts$/.test(entry.name)) newest = Math.max(newest, mtimeOf(join(entry.parentPath ?? entry.path, entry.name)) ?? 0);
  }
  return newest;
}

/** True when every output exists and is newer than every input. */
export function buildIsCurrent() {
  const outputTimes = OUTPUTS.map((file) => mtimeOf(join(root, file)));
  if (outputTimes.some((t) => t === undefined)) return false;
  const oldestOutput = mtimeOf(join(root, OUTPUTS[0]));
  const newestInput = Math.max(
    ...INPUT_DIRS.map((dir) => newestUnder(join(root, dir))),
    ...INPUT_FILES.map((file) => mtimeOf(join(root, file)) ?? 0),
  );
  return newestInput <= oldestOutput;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    process.stdout.write(buildIsCurrent() ? 'current\n' : 'stale\n');
  } else if (!buildIsCurrent()) {
    const npm = process.env.npm_execpath;
    const result = npm
      ? spawnSync(process.execPath, [npm, 'run', 'build', '--silent'], { cwd: root, stdio: 'inherit' })
      : spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
    process.exit(result.status ?? 1);
  }
}
