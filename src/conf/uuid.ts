/** libvirt's UUID text rules (virUUIDParse / virUUIDFormat / virUUIDGenerate). */

/**
 * Parses a UUID the way virUUIDParse does: 32 hex digits, '-' or ' ' allowed between
 * them, leading and trailing whitespace ignored. Returns the canonical lower-case dashed
 * form, or undefined when malformed.
 */
export function parseUuid(text: string): string | undefined {
  let i = 0;
  while (i < text.length && /\s/.test(text.charAt(i))) i++;
  let hex = '';
  while (hex.length < 32) {
    const ch = text.charAt(i);
    if (ch === '') return undefined;
    if (ch === '-' || ch === ' ') {
      i++;
      continue;
    }
    const next = text.charAt(i + 1);
    if (!/^[0-9a-fA-F]$/.test(ch) || !/^[0-9a-fA-F]$/.test(next)) return undefined;
    hex += (ch + next).toLowerCase();
    i += 2;
  }
  if (!/^\s*$/.test(text.slice(i))) return undefined;
  return formatUuidHex(hex);
}

function formatUuidHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A fresh random UUID in canonical form (virUUIDGenerate uses 16 random bytes, no version bits). */
export function generateUuid(): string {
  // The global Web Crypto loads only when used; importing node:crypto here cost every
  // command start about 2 ms, though few commands make a UUID.
  return formatUuidHex(Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(16))).toString('hex'));
}
