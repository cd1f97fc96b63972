import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diskspecXml, memspecXml } from '../../../src/cli/commands/snapshot-create-as.js';

test('memspec: file, snapshot mode, escaping, and refusals', () => {
  assert.equal(memspecXml('/m'), "<memory file='/m'/>\n");
  assert.equal(memspecXml('file=/m,snapshot=external'), "<memory snapshot='external' file='/m'/>\n");
  assert.equal(memspecXml("/a,,b<'"), "<memory file='/a,b&lt;&apos;'/>\n");
  assert.equal(memspecXml('snapshot=no'), "<memory snapshot='no'/>\n");
  assert.equal(memspecXml('foo'), null);
  assert.equal(memspecXml('/a,/b'), null);
  assert.equal(memspecXml('snapshot=no,snapshot=x'), null);
});

test('diskspec: attributes, driver and source, block storage', () => {
  assert.deepEqual(diskspecXml('vda'), { ok: true, lines: ["<disk name='vda'/>"] });
  assert.deepEqual(diskspecXml('vda,snapshot=external,driver=qcow2,file=/o,,1'), {
    ok: true,
    lines: ["<disk name='vda' snapshot='external'>", "  <driver type='qcow2'/>", "  <source file='/o,1'/>", '</disk>'],
  });
  assert.deepEqual(diskspecXml('vdb,stype=block,file=/dev/x'), {
    ok: true, lines: ["<disk name='vdb' type='block'>", "  <source dev='/dev/x'/>", '</disk>'],
  });
});

test("diskspec: virsh 9.0's empty-spec quirk and its errors", () => {
  assert.deepEqual(diskspecXml(''), { ok: true, lines: ['/>'] });
  assert.deepEqual(diskspecXml('vda,bogus=1'), { ok: false, errors: ['unable to parse diskspec: vda,bogus=1'] });
  assert.deepEqual(diskspecXml('vda,stype=nfs'), {
    ok: false, errors: ["Unknown storage type: 'nfs'", 'unable to parse diskspec: vda,stype=nfs'],
  });
});
