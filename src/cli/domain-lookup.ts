/**
 * Resolving a command's domain argument the way virsh does (virshCommandOptDomainBy):
 * an id when the text is a non-negative integer, then a UUID, then a name.
 */
import type { Domain } from '../api/domain.js';
import type { ParsedCommand } from './command-def.js';
import type { Control } from './control.js';
import { CommandAborted, optString } from './option-values.js';

const UUID_TEXT = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

/** Which lookups to try, as virsh's VIRSH_BYID / VIRSH_BYUUID / VIRSH_BYNAME. */
export interface LookupWays { byId: boolean; byUuid: boolean; byName: boolean }

const ALL_WAYS: LookupWays = { byId: true, byUuid: true, byName: true };

/**
 * The domain named by option `optName` (default "domain"); prints
 * `failed to get domain 'X'` and aborts the command when there is none.
 */
export async function lookupDomain(
  ctl: Control, cmd: ParsedCommand, optName = 'domain', ways: LookupWays = ALL_WAYS,
): Promise<Domain> {
  const text = optString(ctl, cmd, optName);
  if (text === undefined) throw new CommandAborted();
  return lookupDomainByText(ctl, text, ways);
}

/** The domain `text` names (an id, a UUID or a name, as virsh tries them); aborts the command as lookupDomain does. */
export async function lookupDomainByText(ctl: Control, text: string, ways: LookupWays = ALL_WAYS): Promise<Domain> {
  const conn = await ctl.connection();
  // virStrToLong_i: strtol's syntax (leading blanks, a sign), the whole text, an int.
  if (ways.byId && /^[ \t\n\v\f\r]*[+-]?[0-9]+$/.test(text)) {
    const id = Number(text.trim());
    if (Number.isSafeInteger(id) && id >= 0 && id <= 0x7fffffff) {
      try { return await conn.domainLookupByID(id); } catch { /* fall through to the next way */ }
    }
  }
  if (ways.byUuid && UUID_TEXT.test(text.trim())) {
    try { return await conn.domainLookupByUUIDString(text); } catch { /* fall through */ }
  }
  if (ways.byName) {
    try { return await conn.domainLookupByName(text); } catch { /* reported below */ }
  }
  ctl.error(`failed to get domain '${text}'`);
  throw new CommandAborted();
}
