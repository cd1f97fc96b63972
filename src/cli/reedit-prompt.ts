/**
 * virsh's vshAskReedit, shared by edit and snapshot-edit: on a terminal, reports the error
 * and asks whether to edit again (y), give up (n), redefine as is (f) or, where the define
 * validates, redefine without validation (i). Null without a terminal.
 */
import { createInterface } from 'node:readline/promises';
import { isVirError } from '../api/errors.js';
import type { Control } from './control.js';

/** The answers: y, n, f, and i where `relaxAvailable`. */
export type ReeditAnswer = 'y' | 'n' | 'f' | 'i';

/** Asks the question; null when stdin is not a terminal. */
export async function askReedit(ctl: Control, message: string, failure: unknown, relaxAvailable = false): Promise<ReeditAnswer | null> {
  if (!process.stdin.isTTY) return null;
  if (isVirError(failure)) ctl.error(failure.message);
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const choices = relaxAvailable ? '[y,n,i,f,?]' : '[y,n,f,?]';
  try {
    for (;;) {
      const answer = (await rl.question(`${message} Try again? ${choices}: `)).trim().toLowerCase();
      if (answer === 'y' || answer === 'n' || answer === 'f' || (relaxAvailable && answer === 'i')) return answer;
      ctl.print('y - yes, start editor again\nn - no, throw away my changes\n'
        + (relaxAvailable ? 'i - turn off validation and try to redefine again\n' : '')
        + 'f - force, try to redefine again\n? - print this help\n');
    }
  } finally {
    rl.close();
  }
}
