/** snapshot-info: name, domain, current, state, location, parent, children, descendants, metadata (and, beyond virsh, quiesced). */
import { VirError, VirErrorCode } from '../../api/errors.js';
import { SnapshotListFlags } from '../../api/flags.js';
import type { SnapshotQuiesceInfo } from '../../api/domain-snapshot.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { optBool } from '../option-values.js';
import { JSON_OPTION, printJson } from '../output/json.js';
import { currentOption, DOMAIN_OPTION, lookupSnapshot } from './snapshot-common.js';

const field = (label: string, value: string | number): string => `${label.padEnd(15)} ${value}\n`;

/** `yes (2 filesystems frozen)`, `yes` when the number is unknown, or `no`. */
function quiescedText(info: SnapshotQuiesceInfo): string {
  if (!info.quiesced) return 'no';
  if (info.frozenFilesystems === null) return 'yes';
  return `yes (${info.frozenFilesystems} filesystem${info.frozenFilesystems === 1 ? '' : 's'} frozen)`;
}

/** `snapshot-info DOMAIN {SNAPSHOTNAME | --current}` */
export const snapshotInfo: CommandDef = {
  name: 'snapshot-info',
  help: 'snapshot information',
  desc: 'Returns basic information about a snapshot.',
  opts: [
    DOMAIN_OPTION,
    { name: 'snapshotname', type: 'string', help: 'snapshot name' },
    currentOption('info on current snapshot'),
    JSON_OPTION,
  ],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd);
    const snapshot = await lookupSnapshot(ctl, cmd, 'snapshotname', true, dom);
    const name = snapshot.getName();
    let current: boolean;
    try {
      current = await snapshot.isCurrent();
    } catch {
      current = await dom.snapshotCurrent().then((s) => s.getName() === name, () => false);
    }
    const xml = await snapshot.getXMLDesc(0);
    const { xpathBoolean, xpathString } = await import('../xml-query.js');
    const state = await xpathString(xml, '/domainsnapshot/state');
    if (state === undefined) {
      ctl.error('unexpected problem reading snapshot xml');
      return false;
    }
    const external = (await xpathBoolean(xml, '/domainsnapshot/memory'))
      ? await xpathBoolean(xml, "/domainsnapshot/memory[@snapshot='external'] | /domainsnapshot/disks/disk[@snapshot='external']")
      : state === 'disk-snapshot';
    const parent = await xpathString(xml, '/domainsnapshot/parent/name');
    const children = await snapshot.numChildren(0);
    const descendants = await snapshot.numChildren(SnapshotListFlags.DESCENDANTS);
    const metadata = await snapshot.hasMetadata();
    // Beyond virsh, only where the driver records it (qemu): the test driver prints what virsh does.
    const quiesce = await snapshot.getQuiesceInfo().catch((err: unknown) => {
      if (err instanceof VirError && err.code === VirErrorCode.NO_SUPPORT) return undefined;
      throw err;
    });
    if (optBool(cmd, 'json')) {
      printJson(ctl, {
        name, domain: dom.getName(), current, state, location: external ? 'external' : 'internal',
        parent: parent ?? null, children, descendants, metadata, quiesce: quiesce ?? null,
      });
      return true;
    }
    ctl.print(field('Name:', name));
    ctl.print(field('Domain:', dom.getName()));
    ctl.print(field('Current:', current ? 'yes' : 'no'));
    ctl.print(field('State:', state));
    ctl.print(field('Location:', external ? 'external' : 'internal'));
    ctl.print(field('Parent:', parent ?? '-'));
    ctl.print(field('Children:', children));
    ctl.print(field('Descendants:', descendants));
    ctl.print(field('Metadata:', metadata ? 'yes' : 'no'));
    if (quiesce) ctl.print(field('Quiesced:', quiescedText(quiesce)));
    return true;
  },
};
