/** test:///default's domain is built without the XML parser; it must be what parsing its XML gives. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { domainDefFromElement } from '../../../src/conf/domain-xml.js';
import { ensureXmlParser, parseXmlDocument } from '../../../src/conf/xml-parse.js';
import { VirErrorDomain } from '../../../src/api/errors.js';
import { DEFAULT_DOMAIN_XML, defaultDomainDef, defaultDomainElement } from '../../../src/drivers/test/default-node.js';

test('the literal default domain element equals DEFAULT_DOMAIN_XML parsed', async () => {
  await ensureXmlParser();
  const parsed = parseXmlDocument(DEFAULT_DOMAIN_XML, '(domain_definition)', VirErrorDomain.DOMAIN, 'domain');
  assert.deepEqual(defaultDomainElement(), parsed);
  assert.deepEqual(defaultDomainDef(), domainDefFromElement(parsed));
});

test('each call builds a fresh element (the driver mutates its definition)', () => {
  const a = defaultDomainElement();
  a.children.length = 0;
  assert.ok(defaultDomainElement().children.length > 0);
});
