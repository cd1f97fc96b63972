/** define and create: a domain from an XML file (persistent, or transient and started). */
import type { CommandDef } from '../command-def.js';
import { CommandAborted, optBool, optString } from '../option-values.js';
import { readXmlFile } from '../read-file.js';
import { attachConsole } from './domain-lifecycle.js';

/** VIR_DOMAIN_DEFINE_VALIDATE */
const DEFINE_VALIDATE = 1 << 0;
/** virDomainCreateFlags: PAUSED, AUTODESTROY, VALIDATE, RESET_NVRAM. */
const START = { PAUSED: 1 << 0, AUTODESTROY: 1 << 1, VALIDATE: 1 << 4, RESET_NVRAM: 1 << 5 } as const;

const FILE_OPTION = { name: 'file', type: 'data', required: true, help: 'file containing an XML domain description' } as const;

/** `define FILE [--validate]`: a persistent domain from XML. */
export const defineCommand: CommandDef = {
  name: 'define',
  help: "define (but don't start) a domain from an XML file",
  desc: 'Define a domain.',
  opts: [FILE_OPTION, { name: 'validate', type: 'bool', help: 'validate the XML against the schema' }],
  async handler(ctl, cmd) {
    const from = optString(ctl, cmd, 'file');
    if (from === undefined) throw new CommandAborted();
    const flags = optBool(cmd, 'validate') ? DEFINE_VALIDATE : 0;
    const xml = await readXmlFile(ctl, from);
    const conn = await ctl.connection();
    let name: string;
    try {
      name = (await conn.domainDefineXML(xml, flags)).getName();
    } catch (err) {
      ctl.error(`Failed to define domain from ${from}`);
      throw err;
    }
    ctl.printExtra(`Domain '${name}' defined from ${from}\n`);
    return true;
  },
};

/** `create FILE [--paused] …`: a transient domain from XML, started. */
export const createCommand: CommandDef = {
  name: 'create',
  help: 'create a domain from an XML file',
  desc: 'Create a domain.',
  opts: [
    FILE_OPTION,
    { name: 'console', type: 'bool', help: 'attach to console after creation' },
    { name: 'paused', type: 'bool', help: 'leave the guest paused after creation' },
    { name: 'autodestroy', type: 'bool', help: 'automatically destroy the guest when virsh disconnects' },
    { name: 'pass-fds', type: 'string', help: 'pass file descriptors N,M,... to the guest' },
    { name: 'validate', type: 'bool', help: 'validate the XML against the schema' },
    { name: 'reset-nvram', type: 'bool', help: 're-initialize NVRAM from its pristine template' },
  ],
  async handler(ctl, cmd) {
    const from = optString(ctl, cmd, 'file');
    if (from === undefined) throw new CommandAborted();
    let flags = 0;
    if (optBool(cmd, 'paused')) flags |= START.PAUSED;
    if (optBool(cmd, 'autodestroy')) flags |= START.AUTODESTROY;
    if (optBool(cmd, 'validate')) flags |= START.VALIDATE;
    if (optBool(cmd, 'reset-nvram')) flags |= START.RESET_NVRAM;
    const xml = await readXmlFile(ctl, from);
    const conn = await ctl.connection();
    let name: string;
    try {
      name = (await conn.domainCreateXML(xml, flags)).getName();
    } catch (err) {
      ctl.error(`Failed to create domain from ${from}`);
      throw err;
    }
    ctl.printExtra(`Domain '${name}' created from ${from}\n`);
    // virsh's create reports a console it cannot attach but still succeeds.
    if (optBool(cmd, 'console')) attachConsole(ctl);
    return true;
  },
};
