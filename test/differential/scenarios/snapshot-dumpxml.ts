/** snapshot-dumpxml: full XML, --security-info, --xpath, --wrap, and errors. */
import type { Scenario } from '../scenario.js';
import { chain } from './common.js';

const d = 'dumpxml';

const one = `snapshot-create-as test a 'd & e <f>'`;

/** Scenarios for `snapshot-dumpxml`. */
export const dumpxmlScenarios: Scenario[] = [
  { name: `${d}: full XML with parent`, commands: `${chain}; snapshot-dumpxml test b` },
  { name: `${d}: escaped description`, commands: `${one}; snapshot-dumpxml test a` },
  { name: `${d}: --security-info`, commands: `${one}; snapshot-dumpxml test a --security-info` },
  { name: `${d}: --xpath selecting several nodes`, commands: `${one}; snapshot-dumpxml test a --xpath //name` },
  { name: `${d}: --xpath --wrap`, commands: `${one}; snapshot-dumpxml test a --xpath //name --wrap` },
  { name: `${d}: --xpath matching nothing`, commands: `${one}; snapshot-dumpxml test a --xpath //nothing` },
  { name: `${d}: --xpath matching nothing --wrap`, commands: `${one}; snapshot-dumpxml test a --xpath //nothing --wrap` },
  { name: `${d}: --xpath attribute`, commands: `${one}; snapshot-dumpxml test a --xpath //disk/@name` },
  { name: `${d}: --xpath text node`, commands: `${one}; snapshot-dumpxml test a --xpath //description/text()` },
  { name: `${d}: --xpath nested element`, commands: `${one}; snapshot-dumpxml test a --xpath /domainsnapshot/domain/os` },
  { name: `${d}: --xpath string() refused`, commands: `${one}; snapshot-dumpxml test a --xpath 'string(//name)'` },
  { name: `${d}: --xpath count() refused`, commands: `${one}; snapshot-dumpxml test a --xpath 'count(//disk)'` },
  { name: `${d}: --xpath invalid expression`, commands: `${one}; snapshot-dumpxml test a --xpath '//['` },
  { name: `${d}: --wrap without --xpath`, commands: `${one}; snapshot-dumpxml test a --wrap` },
  { name: `${d}: missing snapshot name`, commands: 'snapshot-dumpxml test' },
  { name: `${d}: unknown snapshot`, commands: `${one}; snapshot-dumpxml test nope` },
  { name: `${d}: unknown domain`, commands: 'snapshot-dumpxml nope a' },
  { name: `${d}: shut-off snapshot`, commands: 'destroy test; snapshot-create-as test off; snapshot-dumpxml test off' },
  { name: `${d}: --snapshotname option`, commands: 'snapshot-create-as test a; snapshot-dumpxml --domain test --snapshotname a --xpath /domainsnapshot/state' },
  { name: `${d}: argv words, unknown domain`, argv: ['snapshot-dumpxml', '--domain', 'nope', '--snapshotname', 'a'] },
];
