/**
 * reboot, reset, autostart and domrename (tools/virsh-domain.c): virsh's options, success
 * lines and failure wrappers, measured against virsh 9.0 and libvirtd 9.0.
 */
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { optBool, optString } from '../option-values.js';
import { powerModeCommand, withWrapper } from './domain-lifecycle.js';
import { DOMAIN_OPTION } from './snapshot-common.js';

/** `reboot DOMAIN [--mode acpi|agent|initctl|signal|paravirt]` */
export const rebootCommand = powerModeCommand(
  'reboot', 'reboot a domain', 'Run a reboot command in the target domain.', 'is being rebooted', ' or',
  (dom, flags) => dom.reboot(flags),
);

/** `reset DOMAIN` */
export const resetCommand: CommandDef = {
  name: 'reset',
  help: 'reset a domain',
  desc: 'Reset the target domain as if by power button',
  opts: [DOMAIN_OPTION],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd);
    await withWrapper(ctl, 'reset', dom, () => dom.reset(0));
    ctl.printExtra(`Domain '${dom.getName()}' was reset\n`);
    return true;
  },
};

/** `autostart DOMAIN [--disable]` */
export const autostartCommand: CommandDef = {
  name: 'autostart',
  help: 'autostart a domain',
  desc: 'Configure a domain to be automatically started at boot.',
  opts: [DOMAIN_OPTION, { name: 'disable', type: 'bool', help: 'disable autostarting' }],
  async handler(ctl, cmd) {
    const autostart = !optBool(cmd, 'disable');
    const dom = await lookupDomain(ctl, cmd);
    const name = dom.getName();
    try {
      await dom.setAutostart(autostart);
    } catch (err) {
      ctl.error(`Failed to ${autostart ? 'mark' : 'unmark'} domain '${name}' as autostarted`);
      throw err;
    }
    ctl.printExtra(`Domain '${name}' ${autostart ? 'marked' : 'unmarked'} as autostarted\n`);
    return true;
  },
};

/** `domrename DOMAIN NEW-NAME`: no wrapper line on failure, libvirt's error alone (as virsh). */
export const domrenameCommand: CommandDef = {
  name: 'domrename',
  help: 'rename a domain',
  desc: 'Rename an inactive domain.',
  opts: [
    { name: 'domain', type: 'data', required: true, help: 'domain name or uuid' },
    { name: 'new-name', type: 'data', required: true, help: 'new domain name' },
  ],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd, 'domain', { byId: false, byUuid: true, byName: true });
    const newName = optString(ctl, cmd, 'new-name') ?? '';
    await dom.rename(newName, 0);
    ctl.printExtra('Domain successfully renamed\n');
    return true;
  },
};
