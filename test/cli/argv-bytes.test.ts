/**
 * Arguments that are not UTF-8 reach snapvirt as the bytes they are, as they reach virsh:
 * a snapshot name with a Latin-1 byte is refused by the XML parser with libxml2's error,
 * and an error message naming it prints the byte back. Node decodes process.argv with
 * replacement characters, so both tools run under a shell that passes the raw bytes, and
 * their stdout, stderr and exit status are compared byte for byte.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/snapvirt', import.meta.url));

function run(tool: string, script: string): { status: number | null; stdout: Buffer; stderr: Buffer } {
  const r = spawnSync('/bin/sh', ['-c', script.replaceAll('TOOL', tool)], { env: { ...process.env, LANG: 'C' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cases = [
  ['separate words', `TOOL -c test:///default snapshot-create-as test "$(printf 'bad\\377\\376name')"`],
  ['one command string', `TOOL -c test:///default "snapshot-create-as test $(printf 'x\\351y'); snapshot-list test --name"`],
  ['a lookup that names the bytes', `TOOL -c test:///default snapshot-info test "$(printf 'bad\\377')"`],
  ['valid UTF-8 is untouched', `TOOL -c test:///default "snapshot-create-as test $(printf 'caf\\303\\251'); snapshot-list test --name"`],
] as const;

for (const [label, script] of cases) {
  test(`arguments that are not UTF-8: ${label}, byte for byte as virsh`, () => {
    const virsh = run('virsh', script);
    const snapvirt = run(`${process.execPath} ${BIN}`, script);
    assert.equal(snapvirt.stderr.toString('latin1'), virsh.stderr.toString('latin1'));
    assert.equal(snapvirt.stdout.toString('latin1'), virsh.stdout.toString('latin1'));
    assert.equal(snapvirt.status, virsh.status);
  });
}
