/**
 * The command line over transient qemu domains, against real virsh 9.0 on libvirt's test
 * driver, which behaves the same for these commands: `create`, the `list` filters, the
 * name/UUID clash errors, `destroy` making a transient domain vanish, `undefine` of a
 * running domain. stdout, stderr and the exit status must be byte-identical. The qemu
 * side mirrors test:///default: a running persistent domain `test` (id 1, its UUID).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { domainXml, makeImages } from '../../../helpers/domain-fixture.js';
import { openQemuTestEnv } from '../../../helpers/qemu-connection.js';
import { killAllQemu } from '../support/active-env.js';

process.env.SNAPVIRT_QEMU_ACCEL = 'tcg';
const BIN = fileURLToPath(new URL('../../../../../bin/snapvirt', import.meta.url));
/** The UUID of test:///default's domain `test`. */
const TEST_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';

interface Run { stdout: string; stderr: string; status: number }

function run(program: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(program, args, { env: { ...process.env, LC_ALL: 'C', ...env } }, (error, stdout, stderr) => {
      resolve({ stdout, stderr, status: error ? (typeof error.code === 'number' ? error.code : 1) : 0 });
    });
  });
}

test('create, list filters, clashes, destroy and undefine: the same output as virsh on test:///default', async (t) => {
  const oracle = await run('virsh', ['-v']);
  assert.match(oracle.stdout, /^9\.0\./, 'the oracle (libvirt-clients 9.0) is installed by .ci/run');
  const env = await openQemuTestEnv();
  t.after(async () => {
    await killAllQemu(env.stateDir);
    await env.cleanup();
  });
  const [a, b] = await makeImages(env.imageDir, 'img', ['qcow2', 'qcow2'], 16 << 20);
  const file = async (name: string, xml: string): Promise<string> => {
    const path = join(env.tmp.path, name);
    await writeFile(path, xml);
    return path;
  };
  const fresh = await file('fresh.xml', domainXml('fresh', [b!], '7a1c0d3e-1111-4222-8333-944455556666'));
  const same = await file('test-same.xml', domainXml('test', [a!], TEST_UUID));
  const otherName = await file('test-other-name.xml', domainXml('other', [b!], TEST_UUID));
  const otherUuid = await file('test-other-uuid.xml', domainXml('test', [b!], '7a1c0d3e-1111-4222-8333-000000000000'));
  const invalid = await file('invalid.xml', "<domain type='qemu'><name>bad</name><bogus/></domain>\n");

  const stateEnv = { SNAPVIRT_STATE_DIR: env.stateDir };
  const snapvirt = (...args: string[]) => run(process.execPath, [BIN, '-c', 'qemu:///session', ...args], stateEnv);
  // Like test:///default: `test` is persistent and running with id 1.
  assert.equal((await snapvirt(`define ${same}; start test`)).status, 0);

  const batch = [
    `create ${fresh}`, 'list --all', 'list --transient', 'list --persistent --all', 'list --inactive',
    `create ${same}`, `create ${otherName}`, `create ${otherUuid}`, `create --validate ${invalid}`,
    'destroy fresh', 'list --all', 'domstate fresh',
    'undefine test', 'list --transient', 'list --persistent --all',
  ].join('; ');
  const expected = await run('virsh', ['-c', 'test:///default', batch]);
  const got = await snapvirt(batch);
  assert.equal(got.stdout, expected.stdout);
  assert.equal(got.stderr, expected.stderr);
  assert.equal(got.status, expected.status);
  // The batch did what the text says (not two identical wrong outputs).
  assert.match(got.stdout, /^ 2 +fresh +running$/m);
  assert.match(got.stderr, /domain 'test' is already active/);
  assert.match(got.stderr, /Failed to create domain from .*invalid\.xml\nerror: XML document failed to validate/);

  // dominfo of a transient domain says so; the rest of dominfo is driver-specific.
  assert.match((await snapvirt(`create ${fresh}`)).stdout, /^Domain 'fresh' created from .*fresh\.xml$/m);
  assert.match((await snapvirt('dominfo fresh')).stdout, /^Persistent: +no$/m);
  assert.match((await snapvirt('dominfo test')).stdout, /^Persistent: +no$/m, 'test was undefined while running');
  const undefineTransient = await snapvirt('undefine fresh');
  assert.equal(undefineTransient.stderr, "error: Failed to undefine domain 'fresh'\nerror: Requested operation is not valid: cannot undefine transient domain\n");
  assert.equal(undefineTransient.status, 1);
});
