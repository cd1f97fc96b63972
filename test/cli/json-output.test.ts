/**
 * `--json` (snapvirt's own): each command prints one JSON document whose keys and value
 * types are exactly those docs/cli.md documents (a small schema per command, checked
 * strictly: a key added, lost or retyped fails), and the same command without --json prints
 * what virsh prints (held against real virsh by test/differential).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';

async function run(command: string): Promise<{ out: string; err: string; status: number }> {
  let out = '';
  let err = '';
  const status = await main(['-q', '-c', 'test:///default', command], { out: (t) => { out += t; }, err: (t) => { err += t; } });
  return { out, err, status };
}

/** A value's type as the schemas name it. */
type Kind = 'string' | 'number' | 'boolean' | 'string|null' | 'number|null' | 'object|null' | 'array';
type Schema = Record<string, Kind>;

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

function assertMatches(value: unknown, schema: Schema, what: string): void {
  assert.equal(kindOf(value), 'object', what);
  const record = value as Record<string, unknown>;
  assert.deepEqual(Object.keys(record).sort(), Object.keys(schema).sort(), `${what}: keys`);
  for (const [key, kind] of Object.entries(schema)) {
    assert.ok(kind.split('|').includes(kindOf(record[key])), `${what}.${key} is ${kindOf(record[key])}, not ${kind}`);
  }
}

/** The documented schemas (docs/cli.md, "--json"). */
const LIST_ROW: Schema = { id: 'number|null', name: 'string', uuid: 'string', state: 'string', reason: 'string', persistent: 'boolean' };
const DOMINFO: Schema = {
  id: 'number|null', name: 'string', uuid: 'string', osType: 'string', state: 'string', cpus: 'number',
  cpuTimeSeconds: 'number', maxMemoryKiB: 'number|null', usedMemoryKiB: 'number', persistent: 'boolean',
  autostart: 'boolean', managedSave: 'boolean', security: 'object|null',
};
const DOMSTATE: Schema = { state: 'string', reason: 'string', stateCode: 'number', reasonCode: 'number' };
const SNAPSHOT_ROW: Schema = { name: 'string', parent: 'string|null', state: 'string|null', creationTime: 'number|null', current: 'boolean' };
const SNAPSHOT_INFO: Schema = {
  name: 'string', domain: 'string', current: 'boolean', state: 'string', location: 'string', parent: 'string|null',
  children: 'number', descendants: 'number', metadata: 'boolean', quiesce: 'object|null',
};
const CHECK: Schema = { domain: 'string', repaired: 'boolean', findings: 'array', consistent: 'boolean' };

const SEED = 'snapshot-create-as test s1 "a & b"; snapshot-create-as test s2; ';

test('list, dominfo and domstate --json have the documented keys and types', async () => {
  const list = JSON.parse((await run('list --all --json')).out) as unknown[];
  assert.equal(list.length, 1);
  assertMatches(list[0], LIST_ROW, 'list');
  assert.deepEqual(list[0], { id: 1, name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', state: 'RUNNING', reason: 'UNKNOWN', persistent: true });
  const info = JSON.parse((await run('dominfo test --json')).out) as Record<string, unknown>;
  assertMatches(info, DOMINFO, 'dominfo');
  assert.equal(info.state, 'RUNNING');
  assert.equal(info.usedMemoryKiB, 2097152);
  const state = JSON.parse((await run('destroy test; domstate test --json')).out.replace(/^Domain 'test' destroyed\n/, '')) as unknown;
  assertMatches(state, DOMSTATE, 'domstate');
  assert.deepEqual(state, { state: 'SHUTOFF', reason: 'DESTROYED', stateCode: 5, reasonCode: 2 });
});

test('snapshot-list, snapshot-info, snapshot-current and snapshot-check --json', async () => {
  const rows = JSON.parse((await run(`${SEED}snapshot-list test --json`)).out) as Array<Record<string, unknown>>;
  rows.forEach((row, i) => assertMatches(row, SNAPSHOT_ROW, `snapshot-list[${i}]`));
  assert.deepEqual(rows.map((r) => [r.name, r.parent, r.state, r.current]), [['s1', null, 'running', false], ['s2', 's1', 'running', true]]);
  const info = JSON.parse((await run(`${SEED}snapshot-info test s1 --json`)).out) as Record<string, unknown>;
  assertMatches(info, SNAPSHOT_INFO, 'snapshot-info');
  assert.deepEqual([info.name, info.current, info.children, info.descendants, info.location], ['s1', false, 1, 1, 'internal']);
  const current = JSON.parse((await run(`${SEED}snapshot-current test --json`)).out) as Record<string, unknown>;
  assert.equal(current.name, 's2');
  assert.equal(current.parent, 's1');
  assert.ok(Array.isArray(current.disks));
  const check = await run('snapshot-check test --json');
  assertMatches(JSON.parse(check.out), CHECK, 'snapshot-check');
  assert.equal(check.status, 0);
});

test('without --json the output is virsh layout, and help COMMAND stays virsh text', async () => {
  assert.match((await run('domstate test')).out, /^running\n/);
  assert.doesNotMatch((await run('help dominfo')).out, /json/);
  assert.match((await run('help snapshot-check')).out, /--json/, 'snapvirt own command shows it');
});
