/**
 * Bytes that may not be UTF-8, carried in JavaScript strings without losing them. libvirt
 * hands libxml2 the bytes of a file or an argument as they are, and libxml2 refuses what
 * is not UTF-8 with "Input is not proper UTF-8, indicate encoding !" and a context line
 * holding the raw bytes. Decoding with replacement characters would hide that (a snapshot
 * named `bad\uFFFD\uFFFD`), so each byte of a sequence libxml2 would not decode to a
 * character XML allows becomes a lone low surrogate, U+DC00 + byte (Python's
 * "surrogateescape"). Valid UTF-8 never decodes to a lone surrogate, so nothing is
 * ambiguous; the XML parser refuses such text as libxml2 would (xml-encoding-error.ts), and
 * the command line writes the bytes back out as they came.
 */

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The first byte value an escape stands for, and the escape of byte 0x80 (bytes below it are always ASCII). */
const ESCAPE_BASE = 0xdc00;

/** An escaped byte: a low surrogate in U+DC80..U+DCFF that no high surrogate pairs with. */
const ESCAPED_BYTE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;

/** The index of the first escaped byte in `text`, or -1. */
export function firstEscapedByte(text: string): number {
  return text.search(ESCAPED_BYTE);
}

/** Whether `text[i]` is an escaped byte. */
export function isEscapedByteAt(text: string, i: number): boolean {
  const code = text.charCodeAt(i);
  if (code < 0xdc80 || code > 0xdcff) return false;
  const before = i > 0 ? text.charCodeAt(i - 1) : 0;
  return !(before >= 0xd800 && before <= 0xdbff);
}

/**
 * The length of the UTF-8 sequence at `i` as libxml2 2.9's xmlCurrentChar accepts it (lead
 * byte, continuation bytes, no overlong form), or 0 when it is an encoding error there.
 */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const c = bytes[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number): boolean => i + k < bytes.length && (bytes[i + k]! & 0xc0) === 0x80;
  if ((c & 0x40) === 0 || c === 0xc0 || !cont(1)) return 0;
  if ((c & 0xe0) === 0xc0) return ((c & 0x1f) << 6 | (bytes[i + 1]! & 0x3f)) < 0x80 ? 0 : 2;
  if (!cont(2)) return 0;
  if ((c & 0xf0) === 0xe0) return ((c & 0x0f) << 12 | (bytes[i + 1]! & 0x3f) << 6 | (bytes[i + 2]! & 0x3f)) < 0x800 ? 0 : 3;
  if ((c & 0xf8) !== 0xf0 || !cont(3)) return 0;
  return ((c & 0x07) << 18 | (bytes[i + 1]! & 0x3f) << 12) < 0x10000 ? 0 : 4;
}

/**
 * The code point libxml2 decodes from the sequence at `i`, which may be one XML does not
 * allow (a surrogate, above U+10FFFF), or undefined when the bytes are an encoding error.
 */
export function libxmlCodePoint(bytes: Uint8Array, i: number): number | undefined {
  const n = sequenceLength(bytes, i);
  if (n === 0) return undefined;
  const c = bytes[i]!;
  if (n === 1) return c;
  let value = c & (n === 2 ? 0x1f : n === 3 ? 0x0f : 0x07);
  for (let k = 1; k < n; k++) value = value << 6 | (bytes[i + k]! & 0x3f);
  return value;
}

/** Decodes `bytes` as UTF-8; what is not UTF-8 (see above) is kept as escaped bytes. */
export function decodeUtf8Escaped(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    // Not UTF-8 somewhere: the slow path below, byte by byte where it must.
  }
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const value = libxmlCodePoint(bytes, i);
    const n = value === undefined ? 0 : sequenceLength(bytes, i);
    if (value !== undefined && !(value >= 0xd800 && value <= 0xdfff) && value <= 0x10ffff) {
      out += String.fromCodePoint(value);
      i += n;
      continue;
    }
    // An encoding error, or a character libxml2 decodes but XML forbids: keep every byte.
    const end = i + Math.max(n, 1);
    for (; i < end; i++) out += String.fromCharCode(ESCAPE_BASE + bytes[i]!);
  }
  return out;
}

/** Encodes `text` as UTF-8, escaped bytes back to the bytes they stand for. */
export function encodeUtf8Escaped(text: string): Buffer {
  if (firstEscapedByte(text) < 0) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (!isEscapedByteAt(text, i)) continue;
    parts.push(Buffer.from(text.slice(start, i), 'utf8'), Buffer.of(text.charCodeAt(i) - ESCAPE_BASE));
    start = i + 1;
  }
  parts.push(Buffer.from(text.slice(start), 'utf8'));
  return Buffer.concat(parts);
}
