/**
 * `<groupsnapshot>` XML ⇄ a group snapshot: snapvirt's own document (libvirt has no group
 * snapshots), shaped like `<domainsnapshot>`. What a caller gives: a name, optionally a
 * description, and optionally `<memory snapshot='no'/>` (running members save no memory
 * state: their snapshots are disk-only; `external`, the default, saves it). What snapvirt prints: those, the creation time, the state and each member
 * (its domain's name and UUID, and the member's snapshot):
 *
 *   <groupsnapshot>
 *     <name>nightly</name>
 *     <description>app and db</description>
 *     <state>shutoff</state>
 *     <creationTime>1733550000</creationTime>
 *     <members>
 *       <member>
 *         <domain name='app' uuid='…'/>
 *         <snapshot name='nightly'/>
 *       </member>
 *     </members>
 *   </groupsnapshot>
 */
import { VirErrorCode, VirErrorDomain, virError } from '../api/errors.js';
import { formatXmlDocument } from './xml-format.js';
import { parseXmlDocument } from './xml-parse.js';
import { attrValue, childElement, makeElement, textContent, type XmlElement } from './xml-tree.js';

/** The document name in parse errors. */
export const GROUP_SNAPSHOT_DOC_NAME = '(group_snapshot)';

/** What a caller's `<groupsnapshot>` asks for. */
export interface GroupSnapshotRequest {
  name: string;
  description?: string;
  /** `<memory snapshot=…>`: whether running members save their memory state (absent: they do, unless DISK_ONLY). */
  memory?: 'no' | 'external';
}

/** A group snapshot as printed. */
export interface GroupSnapshotDescription {
  name: string;
  description: string | null;
  state: string;
  creationTime: number;
  members: readonly { domainName: string; domainUuid: string; snapshotName: string }[];
}

function childText(el: XmlElement, name: string): string | undefined {
  const child = childElement(el, name);
  const text = child ? textContent(child) : '';
  return text === '' ? undefined : text;
}

/** Parses a caller's `<groupsnapshot>`: a name is required (a group is found by it). */
export function parseGroupSnapshotXML(xml: string): GroupSnapshotRequest {
  const root = parseXmlDocument(xml, GROUP_SNAPSHOT_DOC_NAME, VirErrorDomain.DOMAIN_SNAPSHOT, 'groupsnapshot');
  const name = childText(root, 'name');
  if (name === undefined) throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.DOMAIN_SNAPSHOT, 'a group snapshot must have a name');
  const description = childText(root, 'description');
  let memory: GroupSnapshotRequest['memory'];
  const memoryEl = childElement(root, 'memory');
  if (memoryEl) {
    const mode = attrValue(memoryEl, 'snapshot');
    if (mode !== 'no' && mode !== 'external') {
      throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.DOMAIN_SNAPSHOT, `unknown memory snapshot mode '${mode ?? ''}' (no or external)`);
    }
    memory = mode;
  }
  return { name, ...description === undefined ? {} : { description }, ...memory === undefined ? {} : { memory } };
}

/** The `<groupsnapshot>` document of a group. */
export function formatGroupSnapshotXML(group: GroupSnapshotDescription): string {
  const children: XmlElement[] = [makeElement('name', [], [group.name])];
  if (group.description !== null) children.push(makeElement('description', [], [group.description]));
  children.push(makeElement('state', [], [group.state]));
  children.push(makeElement('creationTime', [], [String(group.creationTime)]));
  children.push(makeElement('members', [], group.members.map((m) => makeElement('member', [], [
    makeElement('domain', [['name', m.domainName], ['uuid', m.domainUuid]]),
    makeElement('snapshot', [['name', m.snapshotName]]),
  ]))));
  return formatXmlDocument(makeElement('groupsnapshot', [], children));
}
