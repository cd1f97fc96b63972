/** snapshot-edit with EDITOR/VISUAL scripts: unchanged, description change, rename attempts, --clone, --current. */
import type { Scenario } from '../scenario.js';
import { chain, script, sedEditor } from './common.js';

const d = 'edit';

/** Adds a description to snapshot s1's XML. */
const describe = sedEditor('s|<name>s1</name>|<name>s1</name>\\n  <description>edited \\&amp; new</description>|');
/** Renames snapshot s1 to s9 in the XML. */
const rename = sedEditor('s|<name>s1</name>|<name>s9</name>|');

/** Scenarios for `snapshot-edit`. */
export const editScenarios: Scenario[] = [
  { name: `${d}: unchanged XML`, commands: 'snapshot-create-as test s1; snapshot-edit test s1', env: { EDITOR: 'true' } },
  { name: `${d}: change description`, commands: 'snapshot-create-as test s1; snapshot-create-as test s2; snapshot-edit test s1; snapshot-dumpxml test s1 --xpath //description; snapshot-current test --name', env: { EDITOR: '{dir}/ed.sh' }, files: { 'ed.sh': describe } },
  { name: `${d}: --current with a name makes it current`, commands: 'snapshot-create-as test s1; snapshot-create-as test s2; snapshot-edit test s1 --current; snapshot-current test --name', env: { EDITOR: '{dir}/ed.sh' }, files: { 'ed.sh': describe } },
  { name: `${d}: --current alone edits the current snapshot`, commands: 'snapshot-create-as test s0; snapshot-create-as test s1; snapshot-edit test --current; snapshot-info test s1', env: { EDITOR: '{dir}/ed.sh' }, files: { 'ed.sh': describe } },
  { name: `${d}: unchanged with --current and a name redefines anyway`, commands: 'snapshot-create-as test s1; snapshot-create-as test s2; snapshot-edit test s1 --current; snapshot-current test --name', env: { EDITOR: 'true' } },
  { name: `${d}: VISUAL wins over EDITOR`, commands: 'snapshot-create-as test s1; snapshot-edit test s1; snapshot-dumpxml test s1 --xpath //description', env: { EDITOR: 'true', VISUAL: '{dir}/ed.sh' }, files: { 'ed.sh': describe } },
  { name: `${d}: --clone`, commands: 'snapshot-create-as test s1; snapshot-edit test s1 --clone; snapshot-list test --parent', env: { EDITOR: '{dir}/ed.sh' }, files: { 'ed.sh': rename } },
  { name: `${d}: --rename --clone`, commands: 'snapshot-create-as test s1; snapshot-edit test s1 --rename --clone', env: { EDITOR: '{dir}/ed.sh' }, files: { 'ed.sh': rename } },
  { name: `${d}: editor script sees the XML`, commands: 'snapshot-create-as test s1 "from edit"; snapshot-edit test s1', env: { EDITOR: '{dir}/ed.sh' }, files: { 'ed.sh': script('grep -c "<description>from edit</description>" "$1" >&2') } },
  { name: `${d}: change the parent`, commands: `${chain}; snapshot-edit test c; snapshot-list test --tree; snapshot-current test --name`, env: { EDITOR: '{dir}/ed.sh' }, files: { 'ed.sh': sedEditor('s|<name>b</name>|<name>a</name>|') } },
  { name: `${d}: remove the description`, commands: 'snapshot-create-as test s1 "to be removed"; snapshot-edit test s1; snapshot-dumpxml test s1 --xpath //description; snapshot-info test s1', env: { EDITOR: '{dir}/ed.sh' }, files: { 'ed.sh': sedEditor('/<description>/d') } },
  { name: `${d}: change the creation time`, commands: 'snapshot-create-as test s1; snapshot-edit test s1; snapshot-list test', env: { EDITOR: '{dir}/ed.sh' }, files: { 'ed.sh': sedEditor('s|<creationTime>[0-9]*</creationTime>|<creationTime>1600000000</creationTime>|') } },
  { name: `${d}: --clone of a child keeps the parent`, commands: `${chain}; snapshot-edit test c --clone; snapshot-list test --parent; snapshot-current test --name`, env: { EDITOR: '{dir}/ed.sh' }, files: { 'ed.sh': sedEditor('s|<name>c</name>|<name>c2</name>|') } },
  { name: `${d}: neither name nor --current`, commands: `${chain}; snapshot-edit test`, env: { EDITOR: 'true' } },
  { name: `${d}: unknown snapshot`, commands: `${chain}; snapshot-edit test nope`, env: { EDITOR: 'true' } },
  { name: `${d}: --current without current snapshot`, commands: 'snapshot-edit test --current', env: { EDITOR: 'true' } },
  { name: `${d}: unknown domain`, commands: 'snapshot-edit nope s1', env: { EDITOR: 'true' } },
  { name: `${d}: quiet unchanged`, quiet: true, commands: 'snapshot-create-as test s1; snapshot-edit test s1; echo done', env: { EDITOR: 'true' } },
];
