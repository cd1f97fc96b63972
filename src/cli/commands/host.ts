/** The host commands: version, uri and hostname. */
import type { CommandDef } from '../command-def.js';
import { LIBVIRT_API_VERSION } from '../../api/lib-version.js';
import type { DriverIdentity } from '../../drivers/driver.js';
import { optBool } from '../option-values.js';
import { reportConnectFailure } from '../run-commands.js';

/** major.minor.micro from libvirt's encoded version number. */
export function versionText(encoded: number): string {
  return `${Math.floor(encoded / 1_000_000)}.${Math.floor((encoded % 1_000_000) / 1000)}.${encoded % 1000}`;
}

/** The libvirt version snapvirt's command line mirrors: what `-v` and `version` report as the library. */
export const LIBRARY_VERSION_TEXT = '9.0.0';

/** `version [--daemon]`: library, API and hypervisor versions. */
export const versionCommand: CommandDef = {
  name: 'version',
  help: 'show version',
  desc: 'Display the system version information.',
  opts: [{ name: 'daemon', type: 'bool', help: 'report daemon version too' }],
  // It connects itself: the hypervisor's version is known without opening its store.
  noConnect: true,
  async handler(ctl, cmd) {
    let identity: DriverIdentity;
    try {
      identity = await ctl.identity();
    } catch (err) {
      reportConnectFailure(ctl, err);
      return false;
    }
    const lib = versionText(LIBVIRT_API_VERSION);
    ctl.print(`Compiled against library: libvirt ${LIBRARY_VERSION_TEXT}\n`);
    ctl.print(`Using library: libvirt ${lib}\n`);
    const { type, hypervisorVersion: hv } = identity;
    ctl.print(`Using API: ${type} ${lib}\n`);
    if (hv === 0) ctl.print(`Cannot extract running ${type} hypervisor version\n`);
    else ctl.print(`Running hypervisor: ${type} ${versionText(hv)}\n`);
    if (optBool(cmd, 'daemon')) ctl.print(`Running against daemon: ${lib}\n`);
    return true;
  },
};

/** `uri`: the connection's URI. */
export const uriCommand: CommandDef = {
  name: 'uri',
  help: 'print the hypervisor canonical URI',
  desc: '',
  opts: [],
  async handler(ctl) {
    ctl.print(`${(await ctl.connection()).getURI()}\n`);
    return true;
  },
};

/** `hostname`: the hypervisor host's name. */
export const hostnameCommand: CommandDef = {
  name: 'hostname',
  help: 'print the hypervisor hostname',
  desc: '',
  opts: [],
  async handler(ctl) {
    ctl.print(`${(await ctl.connection()).getHostname()}\n`);
    return true;
  },
};
