/**
 * snapshot-current: print the current snapshot (XML or --name), or make a named snapshot
 * current without reverting, as virsh does: GetXMLDesc(SECURE) then
 * CreateXML(REDEFINE|CURRENT), adding DISK_ONLY for a disk-snapshot.
 */
import { SnapshotCreateFlags as F, SnapshotXMLFlags } from '../../api/flags.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { exclusiveOptionNames, optBool, optString } from '../option-values.js';
import { JSON_OPTION, printJson } from '../output/json.js';
import { DOMAIN_OPTION } from './snapshot-common.js';

/** `snapshot-current DOMAIN [--name] [--security-info] [SNAPSHOTNAME]` */
export const snapshotCurrent: CommandDef = {
  name: 'snapshot-current',
  help: 'Get or set the current snapshot',
  desc: 'Get or set the current snapshot',
  opts: [
    DOMAIN_OPTION,
    { name: 'name', type: 'bool', help: 'list the name, rather than the full xml' },
    { name: 'security-info', type: 'bool', help: 'include security sensitive information in XML dump' },
    { name: 'snapshotname', type: 'string', help: 'name of existing snapshot to make current' },
    JSON_OPTION,
  ],
  async handler(ctl, cmd) {
    const xmlFlags = optBool(cmd, 'security-info') ? SnapshotXMLFlags.SECURE : 0;
    exclusiveOptionNames(ctl, cmd, 'name', 'snapshotname');
    const dom = await lookupDomain(ctl, cmd);
    const snapshotName = optString(ctl, cmd, 'snapshotname');
    if (snapshotName !== undefined) {
      const snapshot = await dom.snapshotLookupByName(snapshotName);
      const xml = await snapshot.getXMLDesc(SnapshotXMLFlags.SECURE);
      let flags = F.REDEFINE | F.CURRENT;
      // virsh looks for the literal text, since the XML comes from libvirt itself.
      if (xml.includes('<state>disk-snapshot</state>')) flags |= F.DISK_ONLY;
      await dom.snapshotCreateXML(xml, flags);
      ctl.printExtra(`Snapshot ${snapshotName} set as current`);
      return true;
    }
    if (!(await dom.hasCurrentSnapshot())) {
      ctl.error(`domain '${dom.getName()}' has no current snapshot`);
      return false;
    }
    const snapshot = await dom.snapshotCurrent();
    if (optBool(cmd, 'json')) printJson(ctl, await snapshot.getDefinition(xmlFlags));
    else if (optBool(cmd, 'name')) ctl.print(snapshot.getName());
    else ctl.print(await snapshot.getXMLDesc(xmlFlags));
    return true;
  },
};
