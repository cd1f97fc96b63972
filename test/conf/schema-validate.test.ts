import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VirError, VirErrorCode, VirErrorDomain } from '../../src/api/errors.js';
import { validateAgainstSchema } from '../../src/conf/schema-validate.js';
import { CONF_FIXTURES, scratchFile, virsh, virshErrorMessage } from './oracle.js';
import { ensureXmlParser } from '../../src/conf/xml-parse.js';

// libxml2-wasm loads lazily; the parse functions need it loaded.
await ensureXmlParser();

function validationError(xml: string, schema: 'domainsnapshot' | 'domain'): VirError {
  try {
    validateAgainstSchema(xml, schema);
  } catch (err) {
    assert.ok(err instanceof VirError, `expected a VirError, got ${String(err)}`);
    return err;
  }
  assert.fail('document unexpectedly validated');
}

describe('validateAgainstSchema', () => {
  it('accepts every snapshot fixture (the schema includes domaincommon.rng)', () => {
    for (const name of ['all-parameters.xml', 'disk-snapshot-redefine.xml', 'memory-snapshot-inactivedomain.xml', 'metadata.xml', 'disk-snapshot.in.xml']) {
      assert.doesNotThrow(() => validateAgainstSchema(readFileSync(join(CONF_FIXTURES, 'snapshot', name), 'utf8'), 'domainsnapshot'), name);
    }
  });
  it('accepts the test domain', () => {
    const dom = virsh('dumpxml test').stdout;
    assert.doesNotThrow(() => validateAgainstSchema(dom, 'domain'));
  });
  const cases: Array<[string, string, 'domainsnapshot' | 'domain', string]> = [
    ['unknown snapshot element', '<domainsnapshot><name>v</name><foo/></domainsnapshot>', 'domainsnapshot',
      'snapshot-create test --xmlfile FILE --validate'],
    ['bad memory mode and relative path', "<domainsnapshot><name>v</name><memory snapshot='bogus'/><disks><disk name='vda'><source file='rel'/></disk></disks></domainsnapshot>",
      'domainsnapshot', 'snapshot-create test --xmlfile FILE --validate'],
    ['bad state', '<domainsnapshot><state>bogus</state></domainsnapshot>', 'domainsnapshot', 'snapshot-create test --xmlfile FILE --validate'],
    ['unknown domain element', "<domain type='test'><name>x</name><bogus/><memory>1</memory><os><type>hvm</type></os></domain>", 'domain',
      'define --validate FILE'],
  ];
  for (const [label, xml, schema, command] of cases) {
    it(`reports ${label} exactly as virsh --validate does`, () => {
      const expected = virshErrorMessage(virsh(command.replace('FILE', scratchFile(xml))).stderr);
      const err = validationError(xml, schema);
      assert.equal(err.message, expected);
      assert.equal(err.code, VirErrorCode.XML_INVALID_SCHEMA);
      assert.equal(err.domain, VirErrorDomain.XML);
    });
  }
  it('words the failure with the schema path and libxml2\'s lines', () => {
    assert.equal(
      validationError('<domainsnapshot><name>v</name><foo/></domainsnapshot>', 'domainsnapshot').message,
      'XML document failed to validate against schema: Unable to validate doc against /usr/share/libvirt/schemas/domainsnapshot.rng\nElement domainsnapshot has extra content: foo\n',
    );
  });
  it('reports malformed input as a parse error, not a schema error', () => {
    const err = validationError('<domainsnapshot>', 'domainsnapshot');
    assert.equal(err.code, VirErrorCode.XML_DETAIL);
  });
});
