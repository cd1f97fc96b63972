/** dominfo and domstate: a domain's basic information and its state. */
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { reasonName, stateName } from '../output/domain-state.js';
import { optBool } from '../option-values.js';
import { JSON_OPTION, printJson } from '../output/json.js';
import { DOMAIN_OPTION } from './snapshot-common.js';
import { domainStateName, domainStateReasonName } from '../../api/domain-state.js';

const field = (label: string, value: string | number): string => `${label.padEnd(15)} ${value}\n`;

/** `dominfo DOMAIN`: virsh's domain information block. */
export const dominfoCommand: CommandDef = {
  name: 'dominfo',
  help: 'domain information',
  desc: 'Returns basic information about the domain.',
  opts: [DOMAIN_OPTION, JSON_OPTION],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd);
    const id = dom.getID();
    if (optBool(cmd, 'json')) {
      const [extra, info] = [await dom.getExtraInfo(), await dom.getInfo()];
      printJson(ctl, {
        id: id === -1 ? null : id, name: dom.getName(), uuid: dom.getUUIDString(), osType: extra.osType,
        state: domainStateName(info.state), cpus: info.nrVirtCpu, cpuTimeSeconds: Number(info.cpuTimeNs / 1_000_000n) / 1000,
        maxMemoryKiB: info.maxMemKiB === 0xffffffff ? null : info.maxMemKiB, usedMemoryKiB: info.memoryKiB,
        persistent: extra.persistent, autostart: extra.autostart, managedSave: extra.managedSave,
        security: extra.security && extra.security.model !== '' ? extra.security : null,
      });
      return true;
    }
    ctl.print(field('Id:', id === -1 ? '-' : id));
    ctl.print(field('Name:', dom.getName()));
    ctl.print(field('UUID:', dom.getUUIDString()));
    const extra = await dom.getExtraInfo();
    ctl.print(field('OS Type:', extra.osType));
    const info = await dom.getInfo();
    ctl.print(field('State:', stateName(info.state)));
    ctl.print(field('CPU(s):', info.nrVirtCpu));
    if (info.cpuTimeNs !== 0n) ctl.print(field('CPU time:', `${(Number(info.cpuTimeNs) / 1e9).toFixed(1)}s`));
    ctl.print(field('Max memory:', info.maxMemKiB === 0xffffffff ? 'no limit' : `${info.maxMemKiB} KiB`));
    ctl.print(field('Used memory:', `${info.memoryKiB} KiB`));
    ctl.print(field('Persistent:', extra.persistent ? 'yes' : 'no'));
    ctl.print(field('Autostart:', extra.autostart ? 'enable' : 'disable'));
    ctl.print(field('Managed save:', extra.managedSave ? 'yes' : 'no'));
    if (extra.security && extra.security.model !== '') {
      ctl.print(field('Security model:', extra.security.model));
      ctl.print(field('Security DOI:', extra.security.doi));
      if (extra.security.label !== '') {
        ctl.print(field('Security label:', `${extra.security.label} (${extra.security.enforcing ? 'enforcing' : 'permissive'})`));
      }
    }
    return true;
  },
};

/** `domstate DOMAIN [--reason]` */
export const domstateCommand: CommandDef = {
  name: 'domstate',
  help: 'domain state',
  desc: 'Returns state about a domain.',
  opts: [DOMAIN_OPTION, { name: 'reason', type: 'bool', help: 'also print reason for the state' }, JSON_OPTION],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd);
    const { state, reason } = await dom.getState();
    if (optBool(cmd, 'json')) {
      printJson(ctl, { state: domainStateName(state), reason: domainStateReasonName(state, reason), stateCode: state, reasonCode: reason });
      return true;
    }
    if (optBool(cmd, 'reason')) ctl.print(`${stateName(state)} (${reasonName(state, reason)})\n`);
    else ctl.print(`${stateName(state)}\n`);
    return true;
  },
};
