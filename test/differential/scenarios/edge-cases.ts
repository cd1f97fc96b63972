/**
 * Edge cases across commands: unusual names, external memory with explicit disks, read-only
 * connections, option grammar corners, redefinition of existing snapshots and transient
 * domains. They probe the places where a re-implementation most easily drifts from virsh.
 */
import type { Scenario } from '../scenario.js';
import { afterTree, chain, fixture } from './common.js';

const d = 'edge';

const dom2 = { 'dom2.xml': fixture('dom2.xml'), 'dom2.img': '' };
const dom3 = { 'dom3.xml': fixture('dom2.xml').split('dom2').join('dom3').replace('11111111-2222-3333-4444-555555555555', '11111111-2222-3333-4444-666666666666'), 'dom3.img': '' };
const running2 = 'define dom2.xml; start dom2';
const r1 = fixture('r1.xml');

/** Edge-case scenarios. */
export const edgeScenarios: Scenario[] = [
  // Names and descriptions.
  { name: `${d}: name starting with -- after --`, commands: 'snapshot-create-as test -- --weird; snapshot-list test --name; snapshot-info test -- --weird' },
  { name: `${d}: names with XML specials and non-ASCII sort and align`, commands: "snapshot-create-as test snäp; snapshot-create-as test 'a<b>&c' \"x\\ty\"; snapshot-create-as test Zed; snapshot-list test; snapshot-list test --tree; snapshot-dumpxml test 'a<b>&c' --xpath /domainsnapshot/name" },
  { name: `${d}: empty --description is refused at run time`, commands: 'snapshot-create-as test s1 --description ""; snapshot-dumpxml test s1 --xpath //description' },
  { name: `${d}: description with newline and quotes is stored and dumped`, argv: ['snapshot-create-as test s1 "line1\nline2 \'q\' \\"d\\" &amp;"; snapshot-dumpxml test s1 --xpath /domainsnapshot/description; snapshot-create-as test s2 --print-xml "x\ny"'] },
  { name: `${d}: long description in info and list`, commands: `snapshot-create-as test s1 "${'long '.repeat(40).trim()}"; snapshot-info test s1; snapshot-list test` },
  { name: `${d}: numeric names sort as text`, commands: 'snapshot-create-as test 10; snapshot-create-as test 9; snapshot-create-as test 100; snapshot-list test --name; snapshot-list test --tree' },
  // Names equal but for case tie under virsh's case-insensitive sort, whose order then
  // depends on libvirt's hash table; only the (deterministic) topological order is compared.
  { name: `${d}: names differing only in case`, commands: 'snapshot-create-as test b; snapshot-create-as test B; snapshot-revert test b; snapshot-create-as test a; snapshot-list test --name --topological; snapshot-list test --tree; snapshot-dumpxml test B --xpath /domainsnapshot/parent' },
  { name: `${d}: --domain twice`, commands: 'snapshot-create-as test s1 --domain test' },
  { name: `${d}: --name= empty value`, commands: 'snapshot-create-as test --name=' },
  { name: `${d}: boolean option given a value`, commands: 'snapshot-list test --tree=yes' },
  { name: `${d}: option names are case sensitive`, commands: 'snapshot-list test --Tree' },
  { name: `${d}: single dash option`, commands: 'snapshot-list test -tree' },
  { name: `${d}: trailing separator and spaces`, commands: '  snapshot-create-as   test   s1  ;  snapshot-list test --name ;  ' },
  { name: `${d}: quoted command name`, commands: '"snapshot-create-as" test s1; \'snapshot-list\' test --name' },
  { name: `${d}: escaped quote inside double quotes`, commands: 'snapshot-create-as test "a\\"b"; snapshot-list test --name; snapshot-dumpxml test "a\\"b" --xpath /domainsnapshot/name' },
  // Read-only connections.
  { name: `${d}: read-only connection refuses create`, globalArgs: ['-r'], commands: 'snapshot-create-as test s1; snapshot-list test; list' },
  { name: `${d}: read-only --security-info refused`, globalArgs: ['--readonly'], commands: 'snapshot-current test --security-info; dumpxml test --security-info' },
  // External memory snapshots on a domain whose disk file exists.
  { name: `${d}: external memory with explicit overlay`, commands: `${running2}; snapshot-create-as dom2 e1 --memspec {dir}/mem,snapshot=external --diskspec vda,file={dir}/o.qcow2; snapshot-dumpxml dom2 e1 --xpath /domainsnapshot/disks; snapshot-dumpxml dom2 e1 --xpath /domainsnapshot/memory`, files: dom2 },
  { name: `${d}: external memory with internal disk`, commands: `${running2}; snapshot-create-as dom2 e2 --memspec {dir}/mem2 --diskspec vda,snapshot=internal; snapshot-info dom2 e2; snapshot-list dom2 --external --name; snapshot-list dom2 --internal --name`, files: dom2 },
  { name: `${d}: external memory, empty cdrom requested external`, commands: `${running2}; snapshot-create-as dom2 e3 --memspec {dir}/mem3 --diskspec hdc,snapshot=external`, files: dom2 },
  { name: `${d}: external memory with block overlay`, commands: `${running2}; snapshot-create-as dom2 e4 --memspec {dir}/mem4 --diskspec vda,stype=block,file=/dev/null; snapshot-dumpxml dom2 e4 --xpath /domainsnapshot/disks`, files: dom2 },
  { name: `${d}: external memory generated overlay name`, commands: `${running2}; snapshot-create-as dom2 e5 --memspec {dir}/mem5; snapshot-dumpxml dom2 e5 --xpath /domainsnapshot/disks; snapshot-create-as dom2 e6 --memspec {dir}/mem6; snapshot-dumpxml dom2 e6 --xpath //disks/disk/source`, files: dom2 },
  { name: `${d}: ,, escaping in real memspec and diskspec`, commands: `${running2}; snapshot-create-as dom2 e1 --memspec file={dir}/m,,x,snapshot=external --diskspec vda,file={dir}/o,,1.qcow2; snapshot-dumpxml dom2 e1 --xpath /domainsnapshot/memory; snapshot-dumpxml dom2 e1 --xpath /domainsnapshot/disks/disk/source`, files: dom2 },
  { name: `${d}: relative memspec path refused`, commands: `${running2}; snapshot-create-as dom2 e1 --memspec mem.save`, files: dom2 },
  { name: `${d}: external memory file name collides with a disk`, commands: `${running2}; snapshot-create-as dom2 e1 --memspec {dir}/dom2.img`, files: dom2 },
  { name: `${d}: external memory on a shut-off domain`, commands: 'define dom2.xml; snapshot-create-as dom2 e1 --memspec {dir}/mem; snapshot-info dom2 e1; snapshot-dumpxml dom2 e1 --xpath /domainsnapshot/memory', files: dom2 },
  { name: `${d}: revert and delete an external snapshot`, commands: `${running2}; snapshot-create-as dom2 e1 --memspec {dir}/mem; snapshot-create-as dom2 i1; snapshot-revert dom2 e1; domstate dom2 --reason; snapshot-delete dom2 e1; snapshot-list dom2 --parent`, files: dom2 },
  { name: `${d}: list filters on mixed internal/external`, commands: `${running2}; snapshot-create-as dom2 i1; snapshot-create-as dom2 e1 --memspec {dir}/mem; destroy dom2; snapshot-create-as dom2 off1; snapshot-list dom2 --external; snapshot-list dom2 --internal --inactive --name; snapshot-list dom2 --active --external --name; snapshot-list dom2 --disk-only`, files: dom2 },
  { name: `${d}: shut-off domain with an empty cdrom`, commands: 'define dom2.xml; snapshot-create-as dom2 s1; snapshot-dumpxml dom2 s1', files: dom2 },
  { name: `${d}: dumpxml of a domain snapshot includes its <domain>`, commands: `${running2}; snapshot-create-as dom2 s1 "desc"; snapshot-dumpxml dom2 s1 --security-info`, files: dom2 },
  { name: `${d}: --halt on a shut-off domain`, commands: 'define dom2.xml; snapshot-create-as dom2 s1 --halt; domstate dom2 --reason', files: dom2 },
  // Security-sensitive data (a VNC password) is shown only with --security-info. Only the
  // passwd attribute is compared: the rest of <graphics> is a documented deviation below.
  { name: `${d}: --security-info reveals the VNC password`, commands: 'define dom4.xml; snapshot-create-as dom4 g1; snapshot-dumpxml dom4 g1 --xpath //graphics/@passwd; snapshot-dumpxml dom4 g1 --security-info --xpath //graphics/@passwd; snapshot-current dom4 --name', files: { 'dom4.xml': fixture('dom4-graphics.xml'), 'dom4.img': '' } },
  { name: `${d}: domain dumpxml --security-info with graphics`, commands: 'define dom4.xml; dumpxml dom4 --xpath //graphics/@passwd; dumpxml dom4 --security-info --xpath //graphics/@passwd; start dom4; dumpxml dom4 --xpath //graphics/@passwd; dumpxml dom4 --inactive --security-info --xpath //graphics/@passwd', files: { 'dom4.xml': fixture('dom4-graphics.xml'), 'dom4.img': '' } },
  { name: `${d}: redefine from --security-info output keeps the password`, commands: 'define dom4.xml; snapshot-create-as dom4 g1; snapshot-delete dom4 g1; snapshot-create dom4 g.xml --redefine; snapshot-dumpxml dom4 g1 --security-info --xpath //graphics/@passwd; snapshot-dumpxml dom4 g1 --xpath //graphics/@passwd', files: { 'dom4.xml': fixture('dom4-graphics.xml'), 'dom4.img': '', 'g.xml': '<domainsnapshot>\n  <name>g1</name>\n  <state>shutoff</state>\n  <creationTime>1700000000</creationTime>\n  <memory snapshot=\'no\'/>\n  <domain type=\'test\'>\n    <name>dom4</name>\n    <uuid>11111111-2222-3333-4444-777777777777</uuid>\n    <memory unit=\'KiB\'>1048576</memory>\n    <os>\n      <type arch=\'x86_64\'>hvm</type>\n    </os>\n    <devices>\n      <graphics type=\'vnc\' port=\'-1\' passwd=\'other\'/>\n    </devices>\n  </domain>\n</domainsnapshot>\n' } },
  {
    name: `${d}: graphics without libvirt's post-parse defaults`,
    deviation: "domain XML is kept as given for devices snapvirt does not model: no graphics autoport/<listen>, no implicit <video> (docs/COMPATIBILITY.md, XML input)",
    commands: 'define dom4.xml; snapshot-create-as dom4 g1; snapshot-dumpxml dom4 g1 --security-info --xpath //graphics; dumpxml dom4 --xpath //devices/video',
    files: { 'dom4.xml': fixture('dom4-graphics.xml'), 'dom4.img': '' },
    expected: {
      stdout: "Domain 'dom4' defined from dom4.xml\n\nDomain snapshot g1 created\n<graphics type=\"vnc\" port=\"-1\" passwd=\"s3cret\"/>\n\n\n",
      stderr: '',
      code: 0,
    },
  },
  // A richer definition: the parts snapvirt models are compared with virsh, the serial and
  // console target defaults it does not add are a documented deviation.
  { name: `${d}: richer domain definition round trip`, commands: 'define rich.xml; dumpxml rich --xpath /domain/devices/disk; dumpxml rich --xpath //interface; dumpxml rich --xpath //controller; dumpxml rich --xpath /domain/os; dumpxml rich --xpath /domain/title; snapshot-create-as rich r1; snapshot-dumpxml rich r1 --xpath //disks; domblklist rich --details; list --all --title', files: { 'rich.xml': fixture('rich.xml') } },
  { name: `${d}: richer domain started`, commands: 'define rich.xml; start rich; dumpxml rich --xpath //interface; dominfo rich; snapshot-create-as rich r1 --halt; domstate rich --reason', files: { 'rich.xml': fixture('rich.xml') } },
  {
    name: `${d}: serial and console without libvirt's target defaults`,
    deviation: 'domain XML is kept as given for devices snapvirt does not model: no <target port=.../> added to <serial>/<console> (docs/COMPATIBILITY.md, XML input)',
    commands: 'define rich.xml; dumpxml rich --xpath //serial; dumpxml rich --xpath //console',
    files: { 'rich.xml': fixture('rich.xml') },
    expected: { stdout: "Domain 'rich' defined from rich.xml\n\n<serial type=\"pty\"/>\n\n<console type=\"pty\"/>\n\n", stderr: '', code: 0 },
  },
  // Assorted devices: disks and sata controller are compared as a whole; <interface>, the
  // usb controller and <cpu> are compared (libvirt's canonical order and defaults); the
  // whole document, whose device order and video model defaults are kept as given, is a
  // documented deviation.
  { name: `${d}: assorted devices: disks, sata controller, domblklist`, commands: 'define devs.xml; dumpxml devs --xpath /domain/devices/disk; dumpxml devs --xpath "//controller[@type=\'sata\']"; snapshot-create-as devs s1; snapshot-dumpxml devs s1 --xpath //disks; domblklist devs --details', files: { 'devs.xml': fixture('devices.xml') } },
  { name: `${d}: assorted devices: interface element order`, commands: 'define devs.xml; dumpxml devs --xpath //interface', files: { 'devs.xml': fixture('devices.xml') } },
  { name: `${d}: assorted devices: usb controller index`, commands: 'define devs.xml; dumpxml devs --xpath "//controller[@type=\'usb\']"', files: { 'devs.xml': fixture('devices.xml') } },
  { name: `${d}: assorted devices: cpu model fallback`, commands: 'define devs.xml; dumpxml devs --xpath /domain/cpu', files: { 'devs.xml': fixture('devices.xml') } },
  {
    name: `${d}: assorted devices: device order and video defaults kept as given`,
    deviation: 'domain XML is kept as given for devices snapvirt does not model: devices stay in input order (libvirt: graphics, sound, video, watchdog, memballoon, rng), no video ram/vram/heads/primary defaults, no graphics <listen> (docs/COMPATIBILITY.md, XML input)',
    commands: 'define devs.xml; dumpxml devs --xpath "/domain/devices/*[not(self::disk or self::controller or self::interface)]"',
    files: { 'devs.xml': fixture('devices.xml') },
    expected: {
      stdout: "Domain 'devs' defined from devs.xml\n\n<sound model=\"ich9\"/>\n<video>\n  <model type=\"qxl\"/>\n</video>\n<graphics type=\"spice\" autoport=\"yes\"/>\n<rng model=\"virtio\">\n  <backend model=\"random\">/dev/urandom</backend>\n</rng>\n<watchdog model=\"i6300esb\" action=\"reset\"/>\n<memballoon model=\"none\"/>\n\n",
      stderr: '',
      code: 0,
    },
  },
  // Redefinition of existing snapshots.
  { name: `${d}: redefine an existing snapshot with a new description`, commands: 'snapshot-create test r1.xml --redefine; snapshot-create test x.xml --redefine; snapshot-dumpxml test r1 --xpath /domainsnapshot/description; snapshot-list test', files: { 'r1.xml': r1, 'x.xml': r1.replace('root snap', 'changed') } },
  { name: `${d}: redefine over a created snapshot keeps the tree`, commands: `${chain}; snapshot-create test x.xml --redefine; snapshot-list test --parent`, files: { 'x.xml': r1.replace(/r1/g, 'b').replace('<state>running</state>', '<state>running</state>\n  <parent>\n    <name>a</name>\n  </parent>') } },
  { name: `${d}: redefine --current moves current`, commands: `${chain}; snapshot-create test r1.xml --redefine --current; snapshot-current test --name; snapshot-info test c`, files: { 'r1.xml': r1 } },
  { name: `${d}: redefine for another domain's uuid`, commands: 'define dom2.xml; snapshot-create dom2 r1.xml --redefine', files: { ...dom2, 'r1.xml': r1 } },
  { name: `${d}: redefine with --validate and an invalid document`, commands: 'snapshot-create test x.xml --redefine --validate', files: { 'x.xml': r1.replace('<state>running</state>', '<state>bogus</state>') } },
  { name: `${d}: create --validate of dumpxml output`, commands: 'snapshot-create test r1.xml --validate', files: { 'r1.xml': r1 } },
  // Transient domains.
  { name: `${d}: snapshots of a transient domain vanish with it`, commands: 'create dom3.xml; snapshot-create-as dom3 s1; snapshot-list dom3 --name; destroy dom3; snapshot-list dom3', files: dom3 },
  { name: `${d}: revert on a transient domain`, commands: 'create dom3.xml; snapshot-create-as dom3 s1; suspend dom3; snapshot-revert dom3 s1; domstate dom3 --reason', files: dom3 },
  { name: `${d}: undefine --snapshots-metadata of running test, then snapshots`, commands: 'snapshot-create-as test s1; undefine test --snapshots-metadata; snapshot-list test; list --all --with-snapshot; destroy test; list --all' },
  { name: `${d}: undefine running test with snapshots keeps them`, commands: 'snapshot-create-as test s1; undefine test; snapshot-list test --name' },
  // Lifecycle interplay.
  { name: `${d}: list --with-snapshot --without-snapshot together`, commands: 'define dom2.xml; snapshot-create-as dom2 s1; list --all --with-snapshot --without-snapshot', files: dom2 },
  { name: `${d}: define over an existing definition`, commands: 'define dom2.xml; define dom2.xml; list --all', files: dom2 },
  { name: `${d}: start, shutdown reason and dominfo of dom2`, commands: 'define dom2.xml; start dom2; dominfo dom2; shutdown dom2; domstate dom2 --reason; start dom2; destroy dom2; domstate dom2 --reason', files: dom2 },
  { name: `${d}: revert after domain ids advanced`, commands: 'snapshot-create-as test s1; destroy test; start test; dominfo test; snapshot-revert test s1; list' },
  { name: `${d}: paused domain, running snapshot revert --paused keeps it paused`, commands: 'snapshot-create-as test s1; suspend test; snapshot-revert test s1 --paused; domstate test --reason; resume test; domstate test --reason' },
  { name: `${d}: revert --running to a running snapshot while running`, commands: 'snapshot-create-as test s1; snapshot-revert test s1 --running; domstate test --reason; list' },
  // Tree shapes.
  { name: `${d}: wide tree output`, commands: 'snapshot-create-as test r; snapshot-create-as test c1; snapshot-revert test r; snapshot-create-as test c2; snapshot-revert test r; snapshot-create-as test c3; snapshot-create-as test g1; snapshot-list test --tree; snapshot-list test --from r --tree' },
  { name: `${d}: deep chain tree output`, commands: 'snapshot-create-as test l1; snapshot-create-as test l2; snapshot-create-as test l3; snapshot-create-as test l4; snapshot-create-as test l5; snapshot-list test --tree; snapshot-list test --from l2 --descendants --tree; snapshot-info test l1' },
  { name: `${d}: delete --children-only of current root then list`, commands: afterTree('snapshot-current test s1', 'snapshot-delete test s1 --children-only', 'snapshot-list test --tree', 'snapshot-current test --name') },
  { name: `${d}: delete every snapshot one by one`, commands: afterTree('snapshot-delete test s1', 'snapshot-delete test s3', 'snapshot-delete test s7', 'snapshot-delete test s6', 'snapshot-list test --tree', 'snapshot-list test --roots') },
  { name: `${d}: --from with --parent and --topological`, commands: afterTree('snapshot-list test --from s1 --descendants --parent --topological') },
  { name: `${d}: --current --descendants --tree after revert`, commands: afterTree('snapshot-revert test s3', 'snapshot-list test --current --descendants --tree', 'snapshot-list test --current --descendants --name') },
];
