/** snapshot-create: XML files, --redefine/--current with dumpxml output fed back, --validate, errors. */
import type { Scenario } from '../scenario.js';
import { fixture } from './common.js';

const d = 'create';

const r1 = fixture('r1.xml');
const r2 = fixture('r2.xml');
const r3 = fixture('r3-shutoff.xml');
const simple = '<domainsnapshot>\n  <name>x1</name>\n  <description>hi</description>\n</domainsnapshot>\n';

/** Plain-create XML input that must be rejected or accepted, one scenario each. */
const xmlCases: Array<[string, string]> = [
  ['memory snapshot=manual', '<domainsnapshot><name>q</name><memory snapshot="manual"/></domainsnapshot>'],
  ['external memory without file', '<domainsnapshot><name>q</name><memory snapshot="external"/></domainsnapshot>'],
  ['relative memory file', '<domainsnapshot><name>q</name><memory snapshot="external" file="rel"/></domainsnapshot>'],
  ['memory file with internal', '<domainsnapshot><name>q</name><memory snapshot="internal" file="/x"/></domainsnapshot>'],
  ['disk snapshot=bogus', '<domainsnapshot><name>q</name><disks><disk name="vda" snapshot="bogus"/></disks></domainsnapshot>'],
  ['disk without name', '<domainsnapshot><name>q</name><disks><disk snapshot="internal"/></disks></domainsnapshot>'],
  ['relative disk source', '<domainsnapshot><name>q</name><disks><disk name="vda" snapshot="external"><source file="rel.qcow2"/></disk></disks></domainsnapshot>'],
  ['disk type=volume', '<domainsnapshot><name>q</name><disks><disk name="vda" snapshot="external" type="volume"/></disks></domainsnapshot>'],
  ['source with internal disk', '<domainsnapshot><name>q</name><disks><disk name="vda" snapshot="internal"><source file="/x"/></disk></disks></domainsnapshot>'],
  ['unknown disk driver', '<domainsnapshot><name>q</name><disks><disk name="vda"><driver type="bogus"/></disk></disks></domainsnapshot>'],
  ['empty document', ''],
  ['state, parent and creationTime ignored', '<domainsnapshot><name>q</name><state>bogus</state><parent><name>zz</name></parent><creationTime>5</creationTime></domainsnapshot>'],
  ['name with a slash (test driver accepts)', '<domainsnapshot><name>/bad</name></domainsnapshot>'],
  ['disk named by source path', '<domainsnapshot><name>q</name><disks><disk name="/guest/diskimage1"/></disks></domainsnapshot>'],
  ['disk snapshot=no refused', '<domainsnapshot><name>q</name><disks><disk name="vda" snapshot="no"/></disks></domainsnapshot>'],
  ['root element domain', '<domain type="test"><name>q</name></domain>'],
];

/** Scenarios for `snapshot-create`. */
export const createScenarios: Scenario[] = [
  { name: `${d}: no file sends <domainsnapshot/>`, commands: 'snapshot-create test; snapshot-list test --name' },
  { name: `${d}: from positional file`, commands: 'snapshot-create test s.xml; snapshot-dumpxml test x1 --xpath /domainsnapshot/description', files: { 's.xml': simple } },
  { name: `${d}: from --xmlfile with absolute path`, commands: 'snapshot-create --domain test --xmlfile {dir}/s.xml; snapshot-info test x1', files: { 's.xml': simple } },
  { name: `${d}: --xmlfile=value form`, commands: 'snapshot-create test --xmlfile=s.xml', files: { 's.xml': simple } },
  { name: `${d}: duplicate from file`, commands: 'snapshot-create test s.xml; snapshot-create test --xmlfile s.xml', files: { 's.xml': simple } },
  { name: `${d}: missing file`, commands: 'snapshot-create test nope.xml' },
  { name: `${d}: malformed XML`, commands: 'snapshot-create test bad.xml', files: { 'bad.xml': '<domainsnapshot><name>x1</name>' } },
  { name: `${d}: malformed XML over two lines`, commands: 'snapshot-create test bad.xml', files: { 'bad.xml': '<domainsnapshot>\n  <name>x1</nam>\n</domainsnapshot>\n' } },
  { name: `${d}: --validate failure`, commands: 'snapshot-create test inv.xml --validate', files: { 'inv.xml': '<domainsnapshot><name>x1</name><foo/></domainsnapshot>' } },
  { name: `${d}: unknown element accepted without --validate`, commands: 'snapshot-create test inv.xml; snapshot-list test --name', files: { 'inv.xml': '<domainsnapshot><name>x1</name><foo/></domainsnapshot>' } },
  { name: `${d}: --validate success`, commands: 'snapshot-create test s.xml --validate', files: { 's.xml': simple } },
  { name: `${d}: --current without --redefine`, commands: 'snapshot-create test --current' },
  { name: `${d}: --redefine without a name`, commands: 'snapshot-create test --redefine' },
  { name: `${d}: --redefine --no-metadata`, commands: 'snapshot-create test --redefine --no-metadata' },
  { name: `${d}: --redefine --halt with no XML (virsh retries without halt)`, commands: 'snapshot-create test --redefine --halt' },
  { name: `${d}: --redefine --halt with XML destroys the domain`, commands: 'snapshot-create test r1.xml --redefine --halt; domstate test --reason; snapshot-list test', files: { 'r1.xml': r1 } },
  { name: `${d}: redefine child before parent`, commands: 'snapshot-create test r2.xml --redefine', files: { 'r2.xml': r2 } },
  { name: `${d}: redefine in topological order, --current --validate`, commands: 'snapshot-create test r1.xml --redefine; snapshot-create test r2.xml --redefine --current --validate; snapshot-info test --current; snapshot-list test --parent', files: { 'r1.xml': r1, 'r2.xml': r2 } },
  { name: `${d}: redefine does not set current`, commands: 'snapshot-create test r1.xml --redefine; snapshot-current test', files: { 'r1.xml': r1 } },
  { name: `${d}: redefine twice, then plain create of the same name`, commands: 'snapshot-create test r1.xml --redefine; snapshot-create test r1.xml --redefine; snapshot-create test r1.xml', files: { 'r1.xml': r1 } },
  { name: `${d}: redefine keeps fixed creation time and description`, commands: 'snapshot-create test r1.xml --redefine; snapshot-list test; snapshot-dumpxml test r1', files: { 'r1.xml': r1 } },
  { name: `${d}: redefine a shutoff snapshot under a running one`, commands: 'snapshot-create test r1.xml --redefine; snapshot-create test r2.xml --redefine; snapshot-create test r3.xml --redefine --current; snapshot-list test --tree; snapshot-info test r3; snapshot-list test --inactive', files: { 'r1.xml': r1, 'r2.xml': r2, 'r3.xml': r3 } },
  { name: `${d}: redefine missing state`, commands: 'snapshot-create test x.xml --redefine', files: { 'x.xml': r1.replace('  <state>running</state>\n', '') } },
  { name: `${d}: redefine invalid state`, commands: 'snapshot-create test x.xml --redefine', files: { 'x.xml': r1.replace('<state>running</state>', '<state>bogus</state>') } },
  { name: `${d}: redefine missing creationTime`, commands: 'snapshot-create test x.xml --redefine', files: { 'x.xml': r1.replace('  <creationTime>1700000000</creationTime>\n', '') } },
  { name: `${d}: redefine as its own parent`, commands: 'snapshot-create test x.xml --redefine', files: { 'x.xml': r1.replace('<state>running</state>', '<state>running</state>\n  <parent>\n    <name>r1</name>\n  </parent>') } },
  { name: `${d}: redefine with a foreign uuid`, commands: 'snapshot-create test x.xml --redefine', files: { 'x.xml': r1.replace('6695eb01-f6a4-8304-79aa-97f2502e193f', '11111111-2222-3333-4444-555555555555') } },
  { name: `${d}: redefine creating a cycle`, commands: 'snapshot-create test r1.xml --redefine; snapshot-create test r2.xml --redefine; snapshot-create test x.xml --redefine', files: { 'r1.xml': r1, 'r2.xml': r2, 'x.xml': r1.replace('<state>running</state>', '<state>running</state>\n  <parent>\n    <name>r2</name>\n  </parent>') } },
  { name: `${d}: redefine changing running to shutoff`, commands: 'snapshot-create test r1.xml --redefine; snapshot-create test x.xml --redefine', files: { 'r1.xml': r1, 'x.xml': r1.replace('<state>running</state>', '<state>shutoff</state>').replace("<memory snapshot='internal'/>", "<memory snapshot='no'/>") } },
  // Accepted documents are dumped back, so the stored definition is compared too; the
  // exit status of rejected ones is that of the create itself.
  ...xmlCases.map(([label, xml]): Scenario => ({ name: `${d}: XML ${label}`, commands: 'snapshot-create test x.xml', files: { 'x.xml': xml } })),
  { name: `${d}: XML accepted is stored with defaults`, commands: 'snapshot-create test x.xml; snapshot-dumpxml test q', files: { 'x.xml': xmlCases[11]![1] } },
  { name: `${d}: XML disk by path is stored under its target`, commands: 'snapshot-create test x.xml; snapshot-dumpxml test q --xpath //disks', files: { 'x.xml': xmlCases[13]![1] } },
];
