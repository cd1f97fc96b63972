/**
 * The errors libxml2, as libvirt 9.0 calls it, gives for encodings. libvirt hands libxml2
 * a C string: bytes that are not UTF-8 are an error wherever they are, and the declared
 * encoding is not used to decode (the string is read as UTF-8) but its name must be one
 * libxml2 knows ("Unsupported encoding NAME"). Measured with virsh on test:///default.
 */
import { virError, VirErrorCode, type VirError, type VirErrorDomain } from '../api/errors.js';
import { encodeUtf8Escaped, libxmlCodePoint } from './utf8-bytes.js';
import { errorContext, positionOf } from './xml-error-context.js';

/** A parse error of the text before a bad byte, and the index it is at. */
export interface PrefixError {
  error: VirError;
  at: number;
}

function detailError(xml: string, at: number, message: string, docName: string, errDomain: VirErrorDomain): VirError {
  const { line, column } = positionOf(xml, at);
  const { contextLine, pointerLine } = errorContext(xml, line, column);
  return virError(VirErrorCode.XML_DETAIL, errDomain, `${docName}:${line}: ${message}${contextLine}\n${pointerLine}`);
}

/**
 * libxml2's error for a document holding bytes that are not UTF-8 (escaped bytes, see
 * utf8-bytes.ts), the first at `bad`. libxml2 reports the first error in document order:
 * one before the bad byte (found by parsing the text before it), else the bad byte itself,
 * "Input is not proper UTF-8, indicate encoding !" with the next four bytes, or "Char 0x…
 * out of allowed range" for a surrogate or a value past U+10FFFF. After the root element
 * any byte is "Extra content". Within the last three bytes libxml2 takes a bad byte for the
 * end of the input, so the error is the one the text before it gives.
 */
export function encodingFailure(
  xml: string, bad: number, docName: string, errDomain: VirErrorDomain, parsePrefix: (prefix: string) => PrefixError | undefined,
): VirError {
  const bytes = encodeUtf8Escaped(xml);
  const at = encodeUtf8Escaped(xml.slice(0, bad)).length;
  const nearEnd = bytes.length - at < 4;
  const before = parsePrefix(xml.slice(0, bad));
  if (before === undefined) return detailError(xml, bad, 'Extra content at the end of the document\n', docName, errDomain);
  if (nearEnd || before.at < bad) return before.error;
  const value = libxmlCodePoint(bytes, at);
  const hex = (b: number): string => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`;
  const message = value !== undefined
    ? `Char 0x${value.toString(16).toUpperCase()} out of allowed range\n`
    : `Input is not proper UTF-8, indicate encoding !\nBytes: ${[...bytes.subarray(at, at + 4)].map(hex).join(' ')}\n`;
  return detailError(xml, bad, message, docName, errDomain);
}

/** Encoding names libxml2 handles itself, beyond those TextDecoder knows (iconv knows more). */
const LIBXML2_BUILTIN = new Set(['ucs-2', 'ucs2', 'ucs-4', 'ucs4', 'iso-10646-ucs-2', 'iso-10646-ucs-4', 'ascii', 'html']);

/** Whether libxml2 (with iconv) would know encoding `name`; TextDecoder's labels stand in for iconv's. */
function isKnownEncoding(name: string): boolean {
  if (LIBXML2_BUILTIN.has(name.toLowerCase())) return true;
  try {
    new TextDecoder(name);
    return true;
  } catch {
    return false;
  }
}

/** The XML declaration's encoding name and the index just after its closing quote. */
const DECLARED_ENCODING = /^\uFEFF?<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(["'])[^"']*\1[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(["'])([^"']*)\2/;

/** libxml2's "Unsupported encoding NAME" when the declaration names an encoding it does not know. */
export function declaredEncodingError(xml: string, docName: string, errDomain: VirErrorDomain): VirError | undefined {
  if (!xml.startsWith('<?xml', xml.startsWith('\uFEFF') ? 1 : 0)) return undefined;
  const m = DECLARED_ENCODING.exec(xml);
  if (!m || m[3] === '' || isKnownEncoding(m[3]!)) return undefined;
  return detailError(xml, m[0].length, `Unsupported encoding ${m[3]}\n`, docName, errDomain);
}
