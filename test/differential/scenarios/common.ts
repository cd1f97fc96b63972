/**
 * Building blocks shared by the scenario groups: the s1..s8 tree from libvirt's own
 * tests/virsh-snapshot, small snapshot XML documents, and editor scripts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../harness.js';
import type { ScenarioFile } from '../scenario.js';

/**
 * Builds the tree of libvirt's tests/virsh-snapshot on domain `test`:
 * s1 → {s3 → {s2, s6 → {s4, s5}}, s7 → s8}; current is s8.
 */
export const tree = [
  'snapshot-create-as test s1',
  'snapshot-create-as test s3',
  'snapshot-create-as test s2',
  'snapshot-revert test s3',
  'snapshot-create-as test s6',
  'snapshot-create-as test s5',
  'snapshot-revert test s6',
  'snapshot-create-as test s4',
  'snapshot-revert test s1',
  'snapshot-create-as test s7',
  'snapshot-create-as test s8',
].join('; ');

/** `tree` followed by more commands. */
export function afterTree(...commands: string[]): string {
  return [tree, ...commands].join('; ');
}

/** A linear chain a → b → c on domain `test` (current c). */
export const chain = 'snapshot-create-as test a; snapshot-create-as test b; snapshot-create-as test c';

/** A fixture file from test/fixtures/differential/ (contents may use `{dir}`). */
export function fixture(name: string): string {
  return readFileSync(join(repoRoot, 'test', 'fixtures', 'differential', name), 'utf8');
}

/** An executable shell script (for EDITOR/VISUAL). */
export function script(body: string): ScenarioFile {
  return { content: `#!/bin/sh\n${body}\n`, mode: 0o755 };
}

/**
 * An editor script that applies one sed expression to the edited file. The expression is
 * single-quoted for the shell, so it must not contain single quotes.
 */
export function sedEditor(expression: string): ScenarioFile {
  return script(`sed -i '${expression}' "$1"`);
}
