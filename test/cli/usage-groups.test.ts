/**
 * `snapvirt --help` lists its command groups as `virsh --help` does (vshUsage: the group
 * header without the colon `help` puts after it), each command line as virsh prints it
 * in that group, held against the real virsh.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SNAPVIRT = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));

/** Group header → its command lines, from a --help text. */
function groupsOf(text: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (/^ \S.* \(help keyword '[a-z]+'\):?$/.test(line)) groups.set(line, (current = []));
    else if (line.startsWith('    ') && current) current.push(line);
    else current = undefined;
  }
  return groups;
}

test('--help group headers and command lines are virsh --help ones', async () => {
  const ours = groupsOf((await run(SNAPVIRT, ['--help'])).stdout);
  const virsh = groupsOf((await run('virsh', ['--help'])).stdout);
  assert.ok(ours.size >= 5, `only ${ours.size} groups found`);
  for (const [header, lines] of ours) {
    assert.doesNotMatch(header, /:$/, 'virsh --help prints no colon after the group');
    if (header.includes('(snapvirt)')) continue; // snapvirt's own groups
    const theirs = virsh.get(header);
    assert.ok(theirs, `virsh has no group ${header}`);
    for (const line of lines) assert.ok(theirs.includes(line), `${header}: ${line.trim()} is not as virsh prints it`);
  }
});
