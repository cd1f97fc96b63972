/**
 * import-libvirt (snapvirt's own, beyond virsh): brings a shut-off libvirt domain and its
 * snapshot metadata over from a libvirt daemon, read with the system's virsh
 * (src/import/import-libvirt.ts does the work; this prints what it did and left behind).
 */
import { DEFAULT_LIBVIRT_URI } from '../../import/libvirt-reader.js';
import { importLibvirtDomain } from '../../import/import-libvirt.js';
import type { CommandDef } from '../command-def.js';
import { optString } from '../option-values.js';

/** `import-libvirt DOMAIN [--uri URI]` */
export const importLibvirtCommand: CommandDef = {
  name: 'import-libvirt',
  help: 'Import a libvirt domain and its snapshots',
  desc: 'Reads a shut-off domain of a libvirt daemon (virsh -c URI dumpxml, snapshot-dumpxml)\n'
    + '    and defines it here with its snapshot metadata, parents first, libvirt\'s current\n'
    + '    snapshot kept current. The disk images are taken over, not copied: afterwards\n'
    + '    manage the domain with snapvirt only.',
  opts: [
    { name: 'domain', type: 'data', required: true, help: 'libvirt domain name, id or uuid' },
    { name: 'uri', type: 'string', help: `libvirt connection URI to read from (default ${DEFAULT_LIBVIRT_URI})` },
  ],
  async handler(ctl, cmd) {
    const name = optString(ctl, cmd, 'domain') ?? '';
    const uri = optString(ctl, cmd, 'uri') ?? DEFAULT_LIBVIRT_URI;
    const conn = await ctl.connection();
    const result = await importLibvirtDomain(conn, name, { uri });
    const count = result.snapshots.length;
    const current = result.current === null ? '' : `, current snapshot ${result.current}`;
    ctl.printExtra(`Domain '${result.domain.getName()}' imported from ${uri} with ${count} snapshot${count === 1 ? '' : 's'}${current}\n`);
    // Always printed, also with --quiet: it says what the user still has to deal with in libvirt.
    for (const line of result.notImported) ctl.print(`Not imported: ${line}\n`);
    return true;
  },
};
