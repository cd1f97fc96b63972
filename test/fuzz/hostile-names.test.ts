/**
 * Hostile names on the QEMU driver: snapshot names (internal, external
 * with generated overlay names, NO_METADATA) and domain names with '/', '..', NUL,
 * control characters or 10,000 characters are refused with a VirError before anything
 * is touched: files, chains, data, snapshot metadata and domains all as before; so are
 * documents with entity expansion, external entities, or over 10 MiB.
 * Names the driver still accepts are in test/crash/known-failures.ts instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastTempDir } from '../crash/fast-temp-dir.js';
import { KNOWN_ACCEPTED_NAMES } from '../crash/known-failures.js';
import {
  buildNameWorld, domainXmlNamed, expectRefusedUntouched, HOSTILE_NAMES, SNAPSHOT_WAYS, xmlText,
} from './hostile-names.js';

test('hostile snapshot and domain names are refused before anything is touched', { timeout: 300_000 }, async (t) => {
  const tmp = await fastTempDir('snapvirt-names-');
  t.after(() => tmp.cleanup());
  const w = await buildNameWorld(tmp.path);
  let checked = 0;
  const problems: string[] = [];
  const check = async (what: string, attempt: Parameters<typeof expectRefusedUntouched>[2]): Promise<void> => {
    if (KNOWN_ACCEPTED_NAMES.has(what)) return;
    checked++;
    await expectRefusedUntouched(w, what, attempt).catch((e: Error) => { problems.push(e.message.split('\n')[0]!); });
  };
  for (const [label, name] of HOSTILE_NAMES) {
    for (const [way, flags] of SNAPSHOT_WAYS) {
      await check(`snapshot name (${label}), ${way}`, async (conn) =>
        (await conn.domainLookupByName('vm')).snapshotCreateXML(`<domainsnapshot><name>${xmlText(name)}</name></domainsnapshot>`, flags));
    }
    await check(`domain name (${label})`, (conn) => conn.domainDefineXML(domainXmlNamed(w, name)));
  }
  // Hostile documents, not just names: refused before anything is touched too.
  const laughs = '<!DOCTYPE s [<!ENTITY a "aaaaaaaaaa">' +
    Array.from({ length: 8 }, (_, i) => `<!ENTITY ${'b'.repeat(i + 1)} "${`&${i === 0 ? 'a' : 'b'.repeat(i)};`.repeat(10)}">`).join('') +
    ']><domainsnapshot><name>&bbbbbbbb;</name></domainsnapshot>';
  const documents: Array<[string, string]> = [
    ['snapshot XML with entity expansion', laughs],
    ['snapshot XML with an external entity', '<!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/hostname">]><domainsnapshot><name>&x;</name></domainsnapshot>'],
    ['snapshot XML over 10 MiB', `<domainsnapshot><name>big</name><description>${'d'.repeat(11 << 20)}</description></domainsnapshot>`],
  ];
  for (const [label, xml] of documents) {
    for (const [way, flags] of SNAPSHOT_WAYS) {
      await check(`${label}, ${way}`, async (conn) => (await conn.domainLookupByName('vm')).snapshotCreateXML(xml, flags));
    }
  }
  await check('domain XML over 10 MiB', (conn) => conn.domainDefineXML(domainXmlNamed(w, 'big').replace('<devices>', `<description>${'d'.repeat(11 << 20)}</description><devices>`)));
  await check('domain XML with entity expansion', (conn) => conn.domainDefineXML(laughs.replace(/domainsnapshot/g, 'domain')));
  t.diagnostic(`${checked} hostile name and document cases checked, ${problems.length} not refused cleanly; ${KNOWN_ACCEPTED_NAMES.size} known to be accepted (known-failures.ts)`);
  assert.deepEqual(problems, []);
});
