/** snapshot-create-as: argument grammar, --print-xml, memspec/diskspec, flags and errors. */
import type { Scenario } from '../scenario.js';

const d = 'create-as';

/** --diskspec strings printed with --print-xml (virsh's own parser, including its oddities). */
const diskspecs = [
  'vda,snapshot=external,file=/a,,b,,c', 'vda,,x', ',file=/x', 'vda,', 'vda,file=', 'vda,driver=qcow2,driver=raw',
  'vda,snapshot=external,stype=block', 'vda,stype=file', '/dev/vda', 'vda,snapshot=internal,file=/x', 'vda=1', '',
];

/** --memspec strings printed with --print-xml. */
const memspecs = ['snapshot=external', 'file=/a,snapshot=no', '/a,,b', ',snapshot=no', 'file=', 'snapshot=', '/a,file=/b', 'file=/a,bogus', ''];

/** Scenarios for `snapshot-create-as`. */
export const createAsScenarios: Scenario[] = [
  ...diskspecs.map((spec): Scenario => ({ name: `${d}: --print-xml --diskspec '${spec}'`, argv: ['snapshot-create-as', 'test', '--print-xml', '--diskspec', spec] })),
  ...memspecs.map((spec): Scenario => ({ name: `${d}: --print-xml --memspec '${spec}'`, argv: ['snapshot-create-as', 'test', '--print-xml', '--memspec', spec] })),
  { name: `${d}: named snapshot, then list`, commands: 'snapshot-create-as test s1; snapshot-list test' },
  { name: `${d}: default (epoch) name`, commands: 'snapshot-create-as test; snapshot-list test --name' },
  { name: `${d}: --name and --description options`, commands: 'snapshot-create-as --domain test --name s1 --description "first one"; snapshot-dumpxml test s1 --xpath /domainsnapshot/description' },
  { name: `${d}: positional name and description`, commands: 'snapshot-create-as test s1 "the desc"; snapshot-info test s1' },
  { name: `${d}: name with a space`, commands: 'snapshot-create-as --domain test --name "my snap"; snapshot-list test' },
  { name: `${d}: --name=value form`, commands: 'snapshot-create-as test --name=s1 --description=d1; snapshot-list test --name' },
  { name: `${d}: duplicate name`, commands: 'snapshot-create-as test s1; snapshot-create-as test s1' },
  { name: `${d}: empty name`, commands: 'snapshot-create-as test ""' },
  { name: `${d}: unknown domain`, commands: 'snapshot-create-as nope s1' },
  { name: `${d}: unknown domain with --print-xml`, commands: 'snapshot-create-as nope --print-xml' },
  { name: `${d}: missing domain`, commands: 'snapshot-create-as' },
  { name: `${d}: unknown option`, commands: 'snapshot-create-as test --bogus' },
  { name: `${d}: option given twice`, commands: 'snapshot-create-as test --name s1 --name s2' },
  { name: `${d}: --memspec given twice`, commands: 'snapshot-create-as test --print-xml --memspec /a --memspec /b' },
  { name: `${d}: option without its value`, commands: 'snapshot-create-as test s1 --description' },
  { name: `${d}: --print-xml with name`, commands: 'snapshot-create-as test --print-xml --name n1' },
  { name: `${d}: --print-xml with no name`, commands: 'snapshot-create-as test --print-xml' },
  { name: `${d}: --print-xml escapes & < ' "`, commands: `snapshot-create-as test --print-xml --name 'a&b' --description "x & y < z 'q' \\"w\\""` },
  { name: `${d}: --print-xml ignores --atomic and --halt`, commands: 'snapshot-create-as test s1 --print-xml --atomic --halt; domstate test' },
  { name: `${d}: --print-xml positional diskspecs`, commands: 'snapshot-create-as test s1 d1 extra1 extra2 --print-xml' },
  { name: `${d}: --print-xml diskspec with ,, escaping`, commands: 'snapshot-create-as test --print-xml --diskspec vda,snapshot=external,file=/a,,b,driver=qcow2' },
  { name: `${d}: --print-xml memspec file=d,,e`, commands: 'snapshot-create-as test --print-xml --memspec file=d,,e' },
  { name: `${d}: --print-xml memspec bare path`, commands: 'snapshot-create-as test --print-xml --memspec /x/y,snapshot=external' },
  { name: `${d}: --print-xml memspec snapshot only`, commands: 'snapshot-create-as test s1 --print-xml --memspec snapshot=internal' },
  { name: `${d}: --print-xml memspec bogus snapshot value passes through`, commands: 'snapshot-create-as test s2 --print-xml --memspec file=/m,snapshot=bogus' },
  { name: `${d}: --print-xml diskspec stype=block`, commands: 'snapshot-create-as test --print-xml --diskspec vdb,stype=block,file=/dev/sdb' },
  { name: `${d}: --print-xml diskspec stype=file and snapshot=no`, commands: 'snapshot-create-as test --print-xml --diskspec vda,snapshot=no --diskspec vdb,stype=file,file=/f.qcow2' },
  { name: `${d}: --print-xml positional name/desc after options`, commands: 'snapshot-create-as --print-xml --diskspec vda,snapshot=internal test s1 desc' },
  { name: `${d}: --print-xml name, description and diskspec in argv words`, argv: ['snapshot-create-as', 'test', 'n & 1', 'd < 2', '--print-xml', '--diskspec', 'vda,file=/p,,q'] },
  { name: `${d}: memspec parse error`, commands: 'snapshot-create-as test --print-xml --memspec foo=1' },
  { name: `${d}: diskspec parse error`, commands: 'snapshot-create-as test --print-xml --diskspec vda,bogus=1' },
  { name: `${d}: diskspec unknown storage type`, commands: 'snapshot-create-as test --print-xml --diskspec vda,stype=nfs' },
  { name: `${d}: --halt shuts the domain off`, commands: 'snapshot-create-as test s1 --halt; domstate test --reason; snapshot-info test s1' },
  { name: `${d}: --atomic --live --quiesce --validate accepted`, commands: 'snapshot-create-as test s1 --atomic --live --quiesce --validate; snapshot-info test s1' },
  { name: `${d}: memspec snapshot=no becomes internal`, commands: 'snapshot-create-as test s1 --memspec snapshot=no; snapshot-dumpxml test s1 --xpath /domainsnapshot/memory' },
  { name: `${d}: external memory needs a regular disk file`, commands: 'snapshot-create-as test s1 --memspec /tmp/mem' },
  { name: `${d}: diskspec external refused`, commands: 'snapshot-create-as test s1 --diskspec vda,snapshot=external' },
  { name: `${d}: diskspec unknown disk`, commands: 'snapshot-create-as test s1 --diskspec vdz' },
  { name: `${d}: diskspec manual refused`, commands: 'snapshot-create-as test s1 --diskspec vda,snapshot=manual' },
  { name: `${d}: same disk twice`, commands: 'snapshot-create-as test s1 --diskspec vda --diskspec vda' },
  { name: `${d}: diskspec internal accepted`, commands: 'snapshot-create-as test s1 --diskspec vda,snapshot=internal; snapshot-dumpxml test s1 --xpath //disks' },
  { name: `${d}: three snapshots chain parents`, commands: 'snapshot-create-as test a; snapshot-create-as test b; snapshot-create-as test c; snapshot-list test --parent' },
  { name: `${d}: quiet mode prints nothing`, quiet: true, commands: 'snapshot-create-as test s1; snapshot-create-as test s2; snapshot-current test --name' },
  { name: `${d}: shut-off domain gives shutoff state`, commands: 'destroy test; snapshot-create-as test off1; snapshot-info test off1; snapshot-dumpxml test off1 --xpath /domainsnapshot/memory' },
  { name: `${d}: paused domain gives paused state`, commands: 'suspend test; snapshot-create-as test p1; snapshot-list test' },
];
