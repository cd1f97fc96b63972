/**
 * The committed src/rpc/generated/ modules are exactly what `npm run gen:rpc` writes from
 * the .x files now: editing a .x file without regenerating (or editing a generated file)
 * fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateAll } from '../../scripts/gen-rpc.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('src/rpc/generated/ is what scripts/gen-rpc.ts writes from src/rpc/protocol/*.x', () => {
  const generated = generateAll(ROOT);
  assert.deepEqual(readdirSync(ROOT + 'src/rpc/generated').sort(), [...generated.keys()].map((p) => p.split('/').pop()).sort());
  for (const [path, text] of generated) {
    assert.equal(readFileSync(ROOT + path, 'utf8'), text, `${path} is stale: run npm run gen:rpc`);
  }
});

test('every REMOTE procedure of the table pairs with libvirt\'s structs by name', async () => {
  const { remoteProcedures } = await import('../../src/rpc/generated/remote-protocol.js');
  const byNum = new Map(Object.values(remoteProcedures).map((p) => [p.num, p.name]));
  // Numbers straight from libvirt's remote_protocol.x (they never change).
  assert.equal(byNum.get(1), 'REMOTE_PROC_CONNECT_OPEN');
  assert.equal(byNum.get(66), 'REMOTE_PROC_AUTH_LIST');
  assert.equal(byNum.get(185), 'REMOTE_PROC_DOMAIN_SNAPSHOT_CREATE_XML');
  assert.equal(byNum.get(273), 'REMOTE_PROC_CONNECT_LIST_ALL_DOMAINS');
  assert.equal(byNum.get(350), 'REMOTE_PROC_DOMAIN_DEFINE_XML_FLAGS');
});
