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
  assert.match(help.out, / Snapshot \(help keyword 'snapshot'\):\n {4}snapshot-create {16}Create a snapshot from XML\n/);
  assert.deepEqual(await capture(['']), { out: '', err: '', status: 1 });
});

test('a URI no driver serves fails before any command runs', async () => {
  const r = await capture(['-c', 'nosuch:///x', 'echo hi']);
  assert.equal(r.status, 1);
  assert.equal(r.out, '');
  assert.equal(r.err, 'error: failed to connect to the hypervisor\nerror: no connection driver available for nosuch:///x\n');
});
