/** snapshot-info: name, domain, current, state, location, parent, children, descendants, metadata (and, beyond virsh, quiesced). */
import { VirError, VirErrorCode } from '../../api/errors.js';
import { SnapshotListFlags } from '../../api/flags.js';
import type { SnapshotQuiesceInfo } from '../../api/domain-snapshot.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
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
  ],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd);
    const snapshot = await lookupSnapshot(ctl, cmd, 'snapshotname', true, dom);
    const name = snapshot.getName();
    ctl.print(field('Name:', name));
    ctl.print(field('Domain:', dom.getName()));
    let current: boolean;
    try {
      current = await snapshot.isCurrent();
    } catch {
      current = await dom.snapshotCurrent().then((s) => s.getName() === name, () => false);
    }
    ctl.print(field('Current:', current ? 'yes' : 'no'));
    const xml = await snapshot.getXMLDesc(0);
    const { xpathBoolean, xpathString } = await import('../xml-query.js');
    const state = await xpathString(xml, '/domainsnapshot/state');
    if (state === undefined) {
      ctl.error('unexpected problem reading snapshot xml');
      return false;
    }
    ctl.print(field('State:', state));
    const external = (await xpathBoolean(xml, '/domainsnapshot/memory'))
      ? await xpathBoolean(xml, "/domainsnapshot/memory[@snapshot='external'] | /domainsnapshot/disks/disk[@snapshot='external']")
      : state === 'disk-snapshot';
    ctl.print(field('Location:', external ? 'external' : 'internal'));
    ctl.print(field('Parent:', (await xpathString(xml, '/domainsnapshot/parent/name')) ?? '-'));
    ctl.print(field('Children:', await snapshot.numChildren(0)));
    ctl.print(field('Descendants:', await snapshot.numChildren(SnapshotListFlags.DESCENDANTS)));
    ctl.print(field('Metadata:', (await snapshot.hasMetadata()) ? 'yes' : 'no'));
    // Beyond virsh, only where the driver records it (qemu): the test driver prints what virsh does.
    const quiesce = await snapshot.getQuiesceInfo().catch((err: unknown) => {
      if (err instanceof VirError && err.code === VirErrorCode.NO_SUPPORT) return undefined;
      throw err;
    });
    if (quiesce) ctl.print(field('Quiesced:', quiescedText(quiesce)));
    return true;
  },
};
