/**
 * libxml2-wasm stays unloaded on the common paths (it costs a command 35-40 ms to load,
 * plus its WebAssembly tier-up; docs/PERFORMANCE.md finding 10): defining a domain and
 * creating, listing, reading, reverting and deleting snapshots of it through qemu:///session
 * read every document with the fast reader. Malformed XML still loads it and gets libvirt's
 * message. Each case runs in a fresh Node process, where nothing has loaded libxml2 yet.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { connect } from '../../src/api/connection.js';
import { parseDomainXML } from '../../src/conf/domain-xml.js';
import { parseSnapshotXML } from '../../src/conf/snapshot-xml.js';
import { ensureXmlParser } from '../../src/conf/xml-parse.js';
import { domainXml, makeImages } from '../helpers/domain-fixture.js';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);
const src = (path: string): string => new URL(`../../src/${path}`, import.meta.url).href;

/** Runs `body` (an async function body with `connect` and `loaded` in scope) in a fresh process; returns what it prints. */
async function inFreshProcess(stateDir: string, body: string): Promise<unknown> {
  const code = `import { connect } from '${src('api/connection.js')}';
import { xmlLibraryLoaded as loaded } from '${src('conf/xml-parse.js')}';
const out = await (async () => { ${body} })();
process.stdout.write(JSON.stringify(out));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, SNAPVIRT_STATE_DIR: stateDir },
  });
  return JSON.parse(stdout);
}

/** The message `fn` throws. */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected an error');
}

describe('libxml2-wasm is loaded only when needed', () => {
  let tmp: TempDir;
  let stateDir: string;
  let xml: string;
  before(async () => {
    tmp = await makeTempDir('snapvirt-lazy-xml-');
    stateDir = join(tmp.path, 'state');
    await mkdir(join(tmp.path, 'images'));
    xml = domainXml('lazy', await makeImages(join(tmp.path, 'images'), 'lazy', ['qcow2', 'qcow2']));
    await ensureXmlParser();
  });
  after(async () => tmp.cleanup());

  it('not by define, snapshot create (internal and external), list, XML, revert and delete', async () => {
    const result = await inFreshProcess(stateDir, `
      const conn = await connect('qemu:///session');
      const dom = await conn.domainDefineXML(${JSON.stringify(xml)});
      const internal = await dom.snapshotCreateXML('<domainsnapshot><name>i1</name><description>a &amp; b</description></domainsnapshot>');
      await dom.snapshotCreateXML('<domainsnapshot><name>e1</name></domainsnapshot>', 0x10 | 0x80);
      const names = (await dom.listAllSnapshots()).map((s) => s.getName());
      const parsedAgain = (await (await dom.snapshotLookupByName('e1')).getXMLDesc()).includes('<name>e1</name>');
      await (await dom.snapshotLookupByName('e1')).delete();
      await internal.revert();
      await internal.delete();
      const domainXml = await dom.getXMLDesc();
      await conn.close();
      return { names, parsedAgain, described: domainXml.includes('<name>lazy</name>'), loaded: loaded() };
    `);
    assert.deepEqual(result, { names: ['i1', 'e1'], parsedAgain: true, described: true, loaded: false });
  });

  it('by malformed XML, whose error keeps libvirt\'s wording, and by schema validation', async () => {
    const result = await inFreshProcess(stateDir, `
      const conn = await connect('qemu:///session');
      const dom = await conn.domainLookupByName('lazy');
      const before = loaded();
      const define = await conn.domainDefineXML('<domain>\\n  <name>x</nam>\\n</domain>\\n').then(() => 'defined', (e) => e.message);
      const snapshot = await dom.snapshotCreateXML('<domainsnapshot><name>s</name>').then(() => 'created', (e) => e.message);
      await conn.close();
      return { before, define, snapshot, after: loaded() };
    `);
    assert.deepEqual(result, {
      before: false,
      define: messageOf(() => parseDomainXML('<domain>\n  <name>x</nam>\n</domain>\n')),
      snapshot: messageOf(() => parseSnapshotXML('<domainsnapshot><name>s</name>', {})),
      after: true,
    });
    const validated = await inFreshProcess(stateDir, `
      const conn = await connect('qemu:///session');
      const dom = await conn.domainLookupByName('lazy');
      const made = await dom.snapshotCreateXML('<domainsnapshot><name>v</name></domainsnapshot>', 0x200 /* VALIDATE */).then(() => 'created', (e) => e.message);
      await conn.close();
      return { made, loaded: loaded() };
    `);
    assert.deepEqual(validated, { made: 'created', loaded: true });
  });

  it('not to read back a definition whose text only libxml2 could vouch for when it was defined', async () => {
    // A namespace name with a port and a fragment, and metadata nested 220 deep: the fast
    // reader leaves both to libxml2 for text from a caller; stored, libxml2 has accepted them.
    const deep = `${'<m:n>'.repeat(220)}${'</m:n>'.repeat(220)}`;
    const odd = xml.replace('<name>lazy</name>', '<name>odd</name>')
      .replace('</devices>', `</devices>\n  <metadata>${deep.replace('<m:n>', "<m:n xmlns:m='http://example.org:8080/ns?x=1#v1'>")}</metadata>`);
    const defined = await inFreshProcess(stateDir, `
      const conn = await connect('qemu:///session');
      await conn.domainDefineXML(${JSON.stringify(odd)});
      await conn.close();
      return loaded();
    `);
    assert.equal(defined, true, 'defining it needed libxml2');
    const result = await inFreshProcess(stateDir, `
      const conn = await connect('qemu:///session');
      const dom = await conn.domainLookupByName('odd');
      await dom.snapshotCreateXML('<domainsnapshot><name>o1</name></domainsnapshot>');
      const text = await (await dom.snapshotLookupByName('o1')).getXMLDesc();
      const domainText = await dom.getXMLDesc();
      await conn.close();
      return { kept: domainText.includes('http://example.org:8080/ns?x=1#v1') && text.includes('<name>o1</name>'), loaded: loaded() };
    `);
    assert.deepEqual(result, { kept: true, loaded: false });
  });

  it('not by a well-formed test-driver node file; a malformed one loads it and keeps libvirt\'s message', async () => {
    const good = join(tmp.path, 'node.xml');
    const bad = join(tmp.path, 'bad-node.xml');
    await writeFile(good, `<node><domain type='test'><name>n1</name><memory>1024</memory><os><type>hvm</type></os></domain></node>\n`);
    await writeFile(bad, '<node>\n  <domain type="test"><name>n1</nam></domain>\n</node>\n');
    const result = await inFreshProcess(stateDir, `
      const conn = await connect('test://${good}');
      const names = (await conn.listAllDomains()).map((d) => d.getName());
      await conn.close();
      const before = loaded();
      const error = await connect('test://${bad}').then(() => 'opened', (e) => e.message);
      return { names, before, error, after: loaded() };
    `);
    const expected = await connect(`test://${bad}`).then(() => 'opened', (e: Error) => e.message);
    assert.deepEqual(result, { names: ['n1'], before: false, error: expected, after: true });
    assert.match(expected, /bad-node\.xml:2: Opening and ending tag mismatch/);
  });
});
