/** snapshot-create: create a snapshot from an XML file, or `<domainsnapshot/>` without one. */
import { SnapshotCreateFlags as F } from '../../api/flags.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { optBool, optString } from '../option-values.js';
import { readXmlFile } from '../read-file.js';
import { createSnapshot, currentOption, DOMAIN_OPTION } from './snapshot-common.js';

/** The bool options of snapshot-create and snapshot-create-as, with the flag each sets. */
export const CREATE_FLAG_OPTIONS: ReadonlyArray<[string, number]> = [
  ['redefine', F.REDEFINE], ['current', F.CURRENT], ['no-metadata', F.NO_METADATA], ['halt', F.HALT],
  ['disk-only', F.DISK_ONLY], ['reuse-external', F.REUSE_EXT], ['quiesce', F.QUIESCE],
  ['atomic', F.ATOMIC], ['live', F.LIVE], ['validate', F.VALIDATE],
];

/** `snapshot-create DOMAIN [--xmlfile FILE] [flags]` */
export const snapshotCreate: CommandDef = {
  name: 'snapshot-create',
  help: 'Create a snapshot from XML',
  desc: 'Create a snapshot (disk and RAM) from XML',
  opts: [
    DOMAIN_OPTION,
    { name: 'xmlfile', type: 'string', help: 'domain snapshot XML' },
    { name: 'redefine', type: 'bool', help: 'redefine metadata for existing snapshot' },
    currentOption('with redefine, set current snapshot'),
    { name: 'no-metadata', type: 'bool', help: 'take snapshot but create no metadata' },
    { name: 'halt', type: 'bool', help: 'halt domain after snapshot is created' },
    { name: 'disk-only', type: 'bool', help: 'capture disk state but not vm state' },
    { name: 'reuse-external', type: 'bool', help: 'reuse any existing external files' },
    { name: 'quiesce', type: 'bool', help: "quiesce guest's file systems" },
    { name: 'atomic', type: 'bool', help: 'require atomic operation' },
    { name: 'live', type: 'bool', help: 'take a live snapshot' },
    { name: 'validate', type: 'bool', help: 'validate the XML against the schema' },
  ],
  async handler(ctl, cmd) {
    let flags = 0;
    for (const [name, bit] of CREATE_FLAG_OPTIONS) if (optBool(cmd, name)) flags |= bit;
    const dom = await lookupDomain(ctl, cmd);
    const from = optString(ctl, cmd, 'xmlfile');
    const xml = from === undefined ? '<domainsnapshot/>' : await readXmlFile(ctl, from);
    return createSnapshot(ctl, dom, xml, flags, from);
  },
};
