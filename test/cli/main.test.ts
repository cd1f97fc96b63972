import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';

async function capture(argv: string[]): Promise<{ out: string; err: string; status: number }> {
  let out = '';
  let err = '';
  const status = await main(argv, { out: (t) => { out += t; }, err: (t) => { err += t; } });
  return { out, err, status };
}

test('one command string, several commands, a blank line after each', async () => {
  assert.deepEqual(await capture(['echo a; echo b']), { out: 'a\nb\n', err: '', status: 0 });
});

test('quiet mode drops the blank lines', async () => {
  assert.deepEqual(await capture(['-q', 'echo a; echo b']), { out: 'ab', err: '', status: 0 });
});

test('the exit status is the last command’s', async () => {
  assert.equal((await capture(['echo --shell --xml x; echo ok'])).status, 0);
  const failed = await capture(['echo ok; echo --shell --xml x']);
  assert.equal(failed.status, 1);
  assert.equal(failed.err, 'error: Options --shell and --xml are mutually exclusive\n');
  assert.equal(failed.out, 'ok\n\n');
});

test('a syntax error runs nothing', async () => {
  assert.deepEqual(await capture(['echo a; bogus']), { out: '', err: "error: unknown command: 'bogus'\n", status: 1 });
});

test('separate words form one command, taken literally', async () => {
  assert.deepEqual(await capture(['echo', 'a;b', '#c']), { out: 'a;b #c\n', err: '', status: 0 });
});

test('-v, -h and an empty command string', async () => {
  assert.deepEqual(await capture(['-v']), { out: '9.0.0\n', err: '', status: 0 });
  const help = await capture(['-h']);
  assert.match(help.out, /^\nsnapvirt \[options\]\.\.\. \[<command_string>\]\n/);
  assert.match(help.out, / Snapshot \(help keyword 'snapshot'\)\n {4}snapshot-create {16}Create a snapshot from XML\n/); // virsh --help: no colon
  assert.deepEqual(await capture(['']), { out: '', err: '', status: 1 });
});

test('a URI no driver serves fails before any command runs', async () => {
  const r = await capture(['-c', 'nosuch:///x', 'echo hi']);
  assert.equal(r.status, 1);
  assert.equal(r.out, '');
  assert.equal(r.err, 'error: failed to connect to the hypervisor\nerror: no connection driver available for nosuch:///x\n');
});

test('version on the default qemu URI answers without opening the store', async () => {
  const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const stateDir = mkdtempSync(join(tmpdir(), 'snapvirt-version-'));
  const saved = { ...process.env };
  try {
    delete process.env.SNAPVIRT_DEFAULT_URI;
    process.env.LIBVIRT_DEFAULT_URI = 'qemu:///session';
    process.env.SNAPVIRT_STATE_DIR = stateDir;
    assert.deepEqual(await capture(['version']), {
      out: 'Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\n'
        + 'Running hypervisor: QEMU 7.2.22\n\n',
      err: '',
      status: 0,
    });
    assert.deepEqual(readdirSync(stateDir), []);
    // A URI the driver refuses is still a connection failure, as virsh reports it.
    process.env.LIBVIRT_DEFAULT_URI = 'qemu:///nowhere';
    assert.deepEqual(await capture(['version']), {
      out: '\n',
      err: 'error: failed to connect to the hypervisor\n'
        + "error: internal error: unexpected QEMU URI path '/nowhere', try qemu:///system or qemu:///session\n",
      status: 1,
    });
  } finally {
    process.env = saved;
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('help names the commands of a group and of a --help option without loading the rest first', async () => {
  assert.match((await capture(['snapshot-list --help'])).out, /snapshot-list <domain>/);
  assert.match((await capture(['help snapshot'])).out, /snapshot-revert/);
});
