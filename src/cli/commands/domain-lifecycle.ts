/**
 * The one-domain lifecycle commands (tools/virsh-domain.c): start, destroy, shutdown,
 * suspend, resume and undefine, each with virsh's success line and its
 * `Failed to … domain 'NAME'` wrapper before libvirt's error.
 */
import type { Domain } from '../../api/domain.js';
import { isVirError, VirErrorCode } from '../../api/errors.js';
import { DomainUndefineFlags as U } from '../../api/flags.js';
import { ensureXmlParser } from '../../conf/xml-parse.js';
import type { CommandDef, ParsedCommand } from '../command-def.js';
import type { Control } from '../control.js';
import { lookupDomain } from '../domain-lookup.js';
import { splitCommaList } from '../command-line.js';
import { exclusiveOptionNames, optBool, optString } from '../option-values.js';
import { DOMAIN_OPTION } from './snapshot-common.js';

/** --console: snapvirt has no console support; without a terminal this is virsh's own refusal. */
export function attachConsole(ctl: Control): false {
  ctl.error(process.stdin.isTTY && process.stdout.isTTY
    ? 'this function is not supported by the connection driver: virDomainOpenConsole'
    : 'Cannot run interactive console without a controlling TTY');
  return false;
}

/** Runs `action`; on failure prints `Failed to VERB domain 'NAME'` and rethrows libvirt's error. */
export async function withWrapper(ctl: Control, verb: string, dom: Domain, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    ctl.error(`Failed to ${verb} domain '${dom.getName()}'`);
    throw err;
  }
}

function simpleDomainCommand(
  name: string, help: string, desc: string, verb: string, done: string,
  action: (dom: Domain, cmd: ParsedCommand) => Promise<void>,
  extraOpts: CommandDef['opts'] = [],
): CommandDef {
  return {
    name, help, desc,
    opts: [DOMAIN_OPTION, ...extraOpts],
    async handler(ctl, cmd) {
      const dom = await lookupDomain(ctl, cmd);
      await withWrapper(ctl, verb, dom, () => action(dom, cmd));
      ctl.printExtra(`Domain '${dom.getName()}' ${done}\n`);
      return true;
    },
  };
}

/** `destroy DOMAIN [--graceful] [--remove-logs]` */
export const destroyCommand = simpleDomainCommand(
  'destroy', 'destroy (stop) a domain', 'Forcefully stop a given domain, but leave its resources intact.',
  'destroy', 'destroyed',
  // VIR_DOMAIN_DESTROY_GRACEFUL = 1, VIR_DOMAIN_DESTROY_REMOVE_LOGS = 2
  (dom, cmd) => dom.destroy((optBool(cmd, 'graceful') ? 1 : 0) | (optBool(cmd, 'remove-logs') ? 2 : 0)),
  [
    { name: 'graceful', type: 'bool', help: 'terminate gracefully' },
    { name: 'remove-logs', type: 'bool', help: 'remove domain logs' },
  ],
);

/** virDomainShutdownFlagValues and virDomainRebootFlagValues (the same bits), by --mode word. */
const POWER_MODES: Record<string, number> = { acpi: 1, agent: 2, initctl: 4, signal: 8, paravirt: 16 };

/**
 * shutdown and reboot: `--mode` words to flags, the lookup, the call with virsh's wrapper
 * and its success line. virsh words the unknown-mode error with a comma before "or" for
 * shutdown and without one for reboot.
 */
export function powerModeCommand(
  name: string, help: string, desc: string, done: string, orWord: string,
  action: (dom: Domain, flags: number) => Promise<void>,
): CommandDef {
  return {
    name, help, desc,
    opts: [DOMAIN_OPTION, { name: 'mode', type: 'string', help: 'shutdown mode: acpi|agent|initctl|signal|paravirt' }],
    async handler(ctl, cmd) {
      const mode = optString(ctl, cmd, 'mode');
      let flags = 0;
      for (const word of mode === undefined ? [] : splitCommaList(mode)) {
        const bit = POWER_MODES[word];
        if (bit === undefined) {
          ctl.error(`Unknown mode ${word} value, expecting 'acpi', 'agent', 'initctl', 'signal'${orWord} 'paravirt'`);
          return false;
        }
        flags |= bit;
      }
      const dom = await lookupDomain(ctl, cmd);
      await withWrapper(ctl, name, dom, () => action(dom, flags));
      ctl.printExtra(`Domain '${dom.getName()}' ${done}\n`);
      return true;
    },
  };
}

/** `shutdown DOMAIN [--mode acpi|agent|initctl|signal|paravirt]` */
export const shutdownCommand = powerModeCommand(
  'shutdown', 'gracefully shutdown a domain', 'Run shutdown in the target domain.', 'is being shutdown', ', or',
  (dom, flags) => dom.shutdown(flags),
);

/** `suspend DOMAIN` */
export const suspendCommand = simpleDomainCommand(
  'suspend', 'suspend a domain', 'Suspend a running domain.', 'suspend', 'suspended', (dom) => dom.suspend(),
);

/** `resume DOMAIN` */
export const resumeCommand = simpleDomainCommand(
  'resume', 'resume a domain', 'Resume a previously suspended domain.', 'resume', 'resumed', (dom) => dom.resume(),
);

/** `undefine DOMAIN [--snapshots-metadata] [storage and NVRAM/TPM options]` */
export const undefineCommand: CommandDef = {
  name: 'undefine',
  help: 'undefine a domain',
  desc: 'Undefine an inactive domain, or convert persistent to transient.',
  opts: [
    DOMAIN_OPTION,
    { name: 'managed-save', type: 'bool', help: 'remove domain managed state file' },
    { name: 'storage', type: 'string', help: 'remove associated storage volumes (comma separated list of targets or source paths) (see domblklist)' },
    { name: 'remove-all-storage', type: 'bool', help: 'remove all associated storage volumes (use with caution)' },
    { name: 'delete-snapshots', type: 'alias', help: 'delete-storage-volume-snapshots' },
    { name: 'delete-storage-volume-snapshots', type: 'bool', help: 'delete snapshots associated with volume(s), requires --remove-all-storage (must be supported by storage driver)' },
    { name: 'wipe-storage', type: 'bool', help: 'wipe data on the removed volumes' },
    { name: 'snapshots-metadata', type: 'bool', help: 'remove all domain snapshot metadata (vm must be inactive)' },
    { name: 'checkpoints-metadata', type: 'bool', help: 'remove all domain checkpoint metadata (vm must be inactive)' },
    { name: 'nvram', type: 'bool', help: 'remove nvram file' },
    { name: 'keep-nvram', type: 'bool', help: 'keep nvram file' },
    { name: 'tpm', type: 'bool', help: 'remove TPM state' },
    { name: 'keep-tpm', type: 'bool', help: 'keep TPM state' },
  ],
  async handler(ctl, cmd) {
    if (optBool(cmd, 'delete-storage-volume-snapshots') && !optBool(cmd, 'remove-all-storage')) {
      ctl.error('Option --remove-all-storage is required by option --delete-storage-volume-snapshots');
      return false;
    }
    exclusiveOptionNames(ctl, cmd, 'nvram', 'keep-nvram');
    exclusiveOptionNames(ctl, cmd, 'tpm', 'keep-tpm');
    let flags = 0;
    if (optBool(cmd, 'managed-save')) flags |= U.MANAGED_SAVE;
    if (optBool(cmd, 'snapshots-metadata')) flags |= U.SNAPSHOTS_METADATA;
    if (optBool(cmd, 'checkpoints-metadata')) flags |= U.CHECKPOINTS_METADATA;
    if (optBool(cmd, 'nvram')) flags |= U.NVRAM;
    if (optBool(cmd, 'keep-nvram')) flags |= U.KEEP_NVRAM;
    if (optBool(cmd, 'tpm')) flags |= U.TPM;
    if (optBool(cmd, 'keep-tpm')) flags |= U.KEEP_TPM;
    const storage = optString(ctl, cmd, 'storage');
    const removeAll = optBool(cmd, 'remove-all-storage');
    if (storage === undefined && !removeAll && optBool(cmd, 'wipe-storage')) {
      ctl.error("'--wipe-storage' requires '--storage <string>' or '--remove-all-storage'");
      return false;
    }
    const dom = await lookupDomain(ctl, cmd);
    if (storage !== undefined || removeAll) {
      if (!(await reportUnmanagedVolumes(ctl, dom, storage, removeAll))) return false;
    }
    await withWrapper(ctl, 'undefine', dom, () => dom.undefine(flags));
    ctl.printExtra(`Domain '${dom.getName()}' has been undefined\n`);
    return true;
  },
};

/**
 * undefine --storage/--remove-all-storage: snapvirt manages no storage pools, so, as
 * virsh does for volumes outside any pool, each selected disk is reported as "not
 * managed by libvirt" and left in place; the domain is still undefined.
 */
async function reportUnmanagedVolumes(ctl: Control, dom: Domain, storage: string | undefined, removeAll: boolean): Promise<boolean> {
  if (await dom.isActive()) {
    ctl.error('Storage volume deletion is supported only on stopped domains');
    return false;
  }
  if (storage !== undefined && removeAll) {
    ctl.error('Specified both --storage and --remove-all-storage');
    return false;
  }
  const { ParseOption, XmlDocument } = await ensureXmlParser();
  const doc = XmlDocument.fromString(await dom.getXMLDesc(0), { option: ParseOption.XML_PARSE_NOBLANKS });
  const disks: Array<{ target: string; source: string }> = [];
  try {
    for (const disk of doc.find('/domain/devices/disk')) {
      const text = (expr: string): string => {
        const v = disk.eval(`string(${expr})`);
        return typeof v === 'string' ? v : '';
      };
      disks.push({ target: text('./target/@dev'), source: text('./source/@file|./source/@dev|./source/@dir|./source/@name|./source/@volume') });
    }
  } finally {
    doc.dispose();
  }
  // Each --storage entry names one disk, by target or by source; a disk takes the first entry naming it.
  const unmatched = storage === undefined ? undefined : splitCommaList(storage);
  const selected = disks.filter((d) => {
    if (unmatched === undefined) return true;
    const index = unmatched.findIndex((name) => name === d.target || (d.source !== '' && name === d.source));
    if (index < 0) return false;
    unmatched.splice(index, 1);
    return true;
  });
  for (const disk of selected) {
    if (disk.source === '') continue;
    ctl.error(`Storage volume '${disk.target}'(${disk.source}) is not managed by libvirt. Remove it manually.\n`);
  }
  if (unmatched && unmatched.length > 0) {
    ctl.error(`Volume '${unmatched[0]}' was not found in domain's definition.\n`);
    return false;
  }
  return true;
}

/** `start DOMAIN [--paused] [--force-boot] …` */
export const startCommand: CommandDef = {
  name: 'start',
  help: 'start a (previously defined) inactive domain',
  desc: 'Start a domain, either from the last managedsave\n    state, or via a fresh boot if no managedsave state\n    is present.',
  opts: [
    { name: 'domain', type: 'data', required: true, help: 'name of the inactive domain' },
    { name: 'console', type: 'bool', help: 'attach to console after creation' },
    { name: 'paused', type: 'bool', help: 'leave the guest paused after creation' },
    { name: 'autodestroy', type: 'bool', help: 'automatically destroy the guest when virsh disconnects' },
    { name: 'bypass-cache', type: 'bool', help: 'avoid file system cache when loading' },
    { name: 'force-boot', type: 'bool', help: 'force fresh boot by discarding any managed save' },
    { name: 'pass-fds', type: 'string', help: 'pass file descriptors N,M,... to the guest' },
    { name: 'reset-nvram', type: 'bool', help: 're-initialize NVRAM from its pristine template' },
  ],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd, 'domain', { byId: false, byUuid: true, byName: true });
    if (dom.getID() !== -1) {
      ctl.error('Domain is already active');
      return false;
    }
    // VIR_DOMAIN_START_PAUSED = 1 and the others, as virDomainCreateWithFlags takes them.
    let flags = 0;
    if (optBool(cmd, 'paused')) flags |= 1;
    if (optBool(cmd, 'autodestroy')) flags |= 2;
    if (optBool(cmd, 'bypass-cache')) flags |= 4;
    if (optBool(cmd, 'force-boot')) flags |= 8;
    if (optBool(cmd, 'reset-nvram')) flags |= 32;
    if (flags & 8) {
      // virsh emulates --force-boot for servers that refuse the flag: start without it.
      try {
        await dom.create(flags);
        ctl.printExtra(`Domain '${dom.getName()}' started\n`);
        if (optBool(cmd, 'console')) return attachConsole(ctl);
        return true;
      } catch (err) {
        if (!isVirError(err, VirErrorCode.NO_SUPPORT) && !isVirError(err, VirErrorCode.INVALID_ARG)) throw err;
      }
      flags &= ~8;
    }
    await withWrapper(ctl, 'start', dom, () => dom.create(flags));
    ctl.printExtra(`Domain '${dom.getName()}' started\n`);
    // virsh's start fails when it cannot attach the console it was asked for.
    if (optBool(cmd, 'console')) return attachConsole(ctl);
    return true;
  },
};
