/**
 * console: attach the terminal to a running domain's console, as `virsh console`: the
 * terminal is put in raw mode, guest output goes to stdout, keystrokes to the guest, and
 * Ctrl-] (virsh's default escape) detaches. Like virsh, it needs a terminal on stdin.
 */
import type { Duplex } from 'node:stream';
import { DomainState } from '../../api/flags.js';
import type { CommandDef } from '../command-def.js';
import { lookupDomain } from '../domain-lookup.js';
import { CommandAborted, optBool, optString } from '../option-values.js';
import { DOMAIN_OPTION } from './snapshot-common.js';

/** virsh's default escape character, ^] (0x1d). */
const ESCAPE = 0x1d;
/** VIR_DOMAIN_CONSOLE_FORCE, VIR_DOMAIN_CONSOLE_SAFE */
const FORCE = 1;
const SAFE = 2;

/** `console DOMAIN [--devname NAME] [--force] [--safe]` */
export const consoleCommand: CommandDef = {
  name: 'console',
  help: 'connect to the guest console',
  desc: 'Connect the virtual serial console for the guest',
  opts: [
    DOMAIN_OPTION,
    { name: 'devname', type: 'string', help: 'character device name' },
    { name: 'force', type: 'bool', help: 'force console connection (disconnect already connected sessions)' },
    { name: 'safe', type: 'bool', help: 'only connect if safe console handling is supported' },
  ],
  async handler(ctl, cmd) {
    const dom = await lookupDomain(ctl, cmd);
    const devname = optString(ctl, cmd, 'devname');
    if ((await dom.getState()).state === DomainState.SHUTOFF) {
      ctl.error('The domain is not running');
      throw new CommandAborted();
    }
    if (!process.stdin.isTTY) {
      ctl.error('Cannot run interactive console without a controlling TTY');
      throw new CommandAborted();
    }
    ctl.printExtra(`Connected to domain '${dom.getName()}'\n`);
    ctl.printExtra('Escape character is ^] (Ctrl + ])\n');
    const flags = (optBool(cmd, 'force') ? FORCE : 0) | (optBool(cmd, 'safe') ? SAFE : 0);
    const stream = await dom.openConsole(devname, flags);
    await relay(stream);
    return true;
  },
};

/** Copies the terminal to the console and back until Ctrl-] or the console closes; the terminal is restored. */
function relay(stream: Duplex): Promise<void> {
  const stdin = process.stdin;
  stdin.setRawMode(true);
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      stdin.off('data', onKeys);
      stdin.setRawMode(false);
      stdin.pause();
      stream.off('data', onOutput);
      stream.destroy();
      resolve();
    };
    const onKeys = (keys: Buffer): void => {
      const at = keys.indexOf(ESCAPE);
      if (at >= 0) {
        if (at > 0) stream.write(keys.subarray(0, at));
        finish();
      } else {
        stream.write(keys);
      }
    };
    const onOutput = (bytes: Buffer): void => { process.stdout.write(bytes); };
    stdin.on('data', onKeys);
    stream.on('data', onOutput);
    stream.once('close', finish);
    stream.once('error', finish);
    stdin.resume();
  });
}
