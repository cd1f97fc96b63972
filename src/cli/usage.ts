/** `snapvirt -h` and `snapvirt -V`: virsh's usage and long version texts, adapted to snapvirt. */
import { readFileSync } from 'node:fs';
import type { CommandGroup } from './command-def.js';
import { formatGroupHelp } from './help-format.js';

/** The usage text virsh prints for -h, with snapvirt's name and command groups. */
export function usageText(groups: readonly CommandGroup[]): string {
  return `
snapvirt [options]... [<command_string>]
snapvirt [options]... <command> [args...]

  options:
    -c | --connect=URI      hypervisor connection URI
    -d | --debug=NUM        debug level [0-4]
    -e | --escape <char>    set escape sequence for console
    -h | --help             this help
    -k | --keepalive-interval=NUM
                            keepalive interval in seconds, 0 for disable
    -K | --keepalive-count=NUM
                            number of possible missed keepalive messages
    -l | --log=FILE         output logging to file
    -q | --quiet            quiet mode
    -r | --readonly         connect readonly
    -t | --timing           print timing information
    -v                      short version
    -V                      long version
         --version[=TYPE]   version, TYPE is short or long (default short)
  commands (non interactive mode):

${groups.map((g) => `${formatGroupHelp(g, false)}\n`).join('')}
  (specify help <group> for details about the commands in the group)

  (specify help <command> for details about the command)

`;
}

/** snapvirt's own version, from its package.json (dist/src/cli → the package root). */
export function snapvirtVersion(): string {
  try {
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    const version: unknown = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The long version text (-V), in the shape of virsh's, naming snapvirt's own version too. */
export function longVersionText(libraryVersion: string): string {
  return `snapvirt command line tool ${snapvirtVersion()}, compatible with virsh of libvirt ${libraryVersion}
See web site at https://libvirt.org/

Compiled with support for:
 Hypervisors: QEMU Test
`;
}
