/**
 * Where a parse error is, in libvirt's words: the source line around it and a caret line
 * (catchXMLError), and conversions between libxml2-wasm's (line, column) and indexes.
 */
import { encodeUtf8Escaped } from './utf8-bytes.js';

/**
 * The two context lines libvirt prints: the source line around the parser's position and
 * a pointer line with one '-' (or a tab, to stay aligned) per byte before the caret.
 * An empty context line prints as "(null)", as libvirt's printf of a NULL buffer does.
 * libxml2-wasm counts columns in characters and skips a byte order mark; the libxml2
 * libvirt links counts bytes, BOM included, so the column is converted to bytes here.
 */
export function errorContext(xml: string, line: number, column: number): { contextLine: string; pointerLine: string } {
  let lineStart = 0;
  for (let l = 1; l < line; l++) {
    const nl = xml.indexOf('\n', lineStart);
    if (nl < 0) {
      lineStart = xml.length;
      break;
    }
    lineStart = nl + 1;
  }
  let errorAt = lineStart;
  if (lineStart === 0 && xml.startsWith('\ufeff')) errorAt += 1;
  for (let k = 0; k < column - 1 && errorAt < xml.length; k++) {
    errorAt += (xml.codePointAt(errorAt) ?? 0) > 0xffff ? 2 : 1;
  }
  const columnBytes = encodeUtf8Escaped(xml.slice(lineStart, errorAt)).length;
  // catchXMLError: step back over line ends, then find the start and end of that line.
  const isEol = (i: number): boolean => xml[i] === '\n' || xml[i] === '\r';
  let cur = errorAt;
  while (cur > 0 && isEol(cur)) cur--;
  while (cur > 0 && !isEol(cur)) cur--;
  if (isEol(cur)) cur++;
  let end = cur;
  while (end < xml.length && !isEol(end)) end++;
  const context = xml.slice(cur, end);
  const contextBytes = encodeUtf8Escaped(context);
  let pointer = '';
  for (let n = 0; n < columnBytes && n < contextBytes.length; n++) pointer += contextBytes[n] === 0x09 ? '\t' : '-';
  return { contextLine: context === '' ? '(null)' : context, pointerLine: `${pointer}^` };
}

/** The line (1-based) of index `i` in `text`. */
export function lineOf(text: string, i: number): number {
  let line = 1;
  for (let k = text.indexOf('\n'); k >= 0 && k < i; k = text.indexOf('\n', k + 1)) line++;
  return line;
}

/** The index in `text` of libxml2-wasm's (line, column), columns counted in characters. */
export function indexOfPosition(text: string, line: number, column: number): number {
  let start = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) return text.length;
    start = nl + 1;
  }
  let i = start;
  for (let k = 1; k < column && i < text.length; k++) i += (text.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
  return i;
}

/** libxml2-wasm's (line, column) of index `i`, columns counted in characters from 1. */
export function positionOf(text: string, i: number): { line: number; column: number } {
  return { line: lineOf(text, i), column: [...text.slice(text.lastIndexOf('\n', i - 1) + 1, i)].length + 1 };
}
