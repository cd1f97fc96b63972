/**
 * The public .d.ts, compiled as a user's project compiles it: test-types/public-api.ts
 * imports 'snapvirt' (through package.json exports, so only what the package exports)
 * and must compile, each of its `@ts-expect-error` lines refusing a wrong flag type or an
 * internal member. A directive that stops erroring fails tsc (TS2578); the second test
 * proves that this is what happens.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** Runs tsc on `project`; resolves with its exit code and output. */
async function compile(project: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [tsc, '-p', project], { cwd: root });
    return { code: 0, output: stdout };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, output: failed.stdout ?? String(err) };
  }
}

test('the public types compile for allowed uses and refuse wrong flags and internals', async () => {
  const source = await readFile(join(root, 'test-types', 'public-api.ts'), 'utf8');
  const directives = source.split('\n').filter((line) => line.trim().startsWith('// @ts-expect-error')).length;
  assert.ok(directives >= 20, `only ${directives} refusals checked`);
  const { code, output } = await compile(join(root, 'test-types'));
  assert.equal(code, 0, output);
});

test('a refusal that compiles after all makes the type check fail', async () => {
  // Inside the package, so 'snapvirt' resolves to this package's own .d.ts, as above.
  const probe = join(root, 'dist', 'type-probe');
  await mkdir(probe, { recursive: true });
  try {
    await writeFile(join(probe, 'tsconfig.json'), JSON.stringify({ extends: '../../test-types/tsconfig.json', include: ['probe.ts'] }));
    await writeFile(join(probe, 'probe.ts'), [
      "import { SnapshotCreateFlags, type Domain } from 'snapvirt';",
      'export async function probe(dom: Domain): Promise<void> {',
      '  // @ts-expect-error (wrongly: this is a create flag, which the call accepts)',
      "  await dom.snapshotCreateXML('<domainsnapshot/>', SnapshotCreateFlags.ATOMIC);",
      '}',
      '',
    ].join('\n'));
    const { code, output } = await compile(probe);
    assert.notEqual(code, 0);
    assert.match(output, /error TS2578: Unused '@ts-expect-error' directive/);
  } finally {
    await rm(probe, { recursive: true, force: true });
  }
});
