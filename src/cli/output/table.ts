/**
 * virsh's table layout (tools/vsh-table.c): every cell is preceded by one space, every
 * column but the last is padded to its widest cell plus two spaces, and the header is
 * followed by a line of dashes as wide as all columns plus three per column. Quiet mode
 * prints no header and no dashes. Widths are terminal columns (wide characters count
 * two), and unprintable text is escaped as vshTableSafeEncode does for the locale.
 */

/** True when the C library would decode UTF-8 (LC_ALL, then LC_CTYPE, then LANG). */
export function localeIsUtf8(env: NodeJS.ProcessEnv = process.env): boolean {
  const ctype = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(ctype);
}

/** East Asian wide and fullwidth ranges, and emoji: two columns each (as wcwidth). */
const WIDE_RANGES: ReadonlyArray<[number, number]> = [
  [0x1100, 0x115f], [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff],
  [0xa000, 0xa4cf], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe30, 0xfe4f], [0xff00, 0xff60],
  [0xffe0, 0xffe6], [0x1f300, 0x1f64f], [0x1f900, 0x1f9ff], [0x20000, 0x2fffd], [0x30000, 0x3fffd],
];

function isCombining(code: number): boolean {
  return (code >= 0x0300 && code <= 0x036f) || (code >= 0x1ab0 && code <= 0x1aff)
    || (code >= 0x1dc0 && code <= 0x1dff) || (code >= 0x20d0 && code <= 0x20ff) || (code >= 0xfe20 && code <= 0xfe2f);
}

/** Columns one code point takes on a terminal. */
function charWidth(code: number): number {
  if (isCombining(code)) return 0;
  return WIDE_RANGES.some(([lo, hi]) => code >= lo && code <= hi) ? 2 : 1;
}

/** The width a cell takes on a terminal. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += charWidth(ch.codePointAt(0) ?? 0);
  return width;
}

/**
 * Makes a cell printable the way vshTableSafeEncode does: control characters, and a
 * backslash before `x`, become `\xNN`; outside a UTF-8 locale, where virsh cannot decode multibyte text, every byte
 * of it comes out as `\xff` (virsh's sign-extension, reproduced for identical output).
 */
export function safeCell(text: string, utf8 = localeIsUtf8()): string {
  let out = '';
  const chars = [...text];
  chars.forEach((ch, i) => {
    const code = ch.codePointAt(0) ?? 0;
    // A backslash that would read as the start of an escape (`\x`) is escaped itself.
    if (code < 0x20 || code === 0x7f || (ch === '\\' && chars[i + 1] === 'x')) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code >= 0x80 && !utf8) out += '\\xff'.repeat(Buffer.byteLength(ch, 'utf8'));
    else out += ch;
  });
  return out;
}

/** Formats `rows` under `header` as vshTablePrintToStdout does; `withHeader` false for -q. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], withHeader: boolean): string {
  const utf8 = localeIsUtf8();
  const all = [header, ...rows].map((row) => row.map((cell) => safeCell(cell, utf8)));
  // Without the header (quiet mode) its cells do not count towards the widths.
  const measured = withHeader ? all : all.slice(1);
  const widths = header.map((_, col) => Math.max(0, ...measured.map((row) => displayWidth(row[col] ?? ''))));
  const line = (row: readonly string[]): string => {
    let text = '';
    row.forEach((cell, col) => {
      text += ` ${cell}`;
      if (col < row.length - 1) text += ' '.repeat(widths[col] - displayWidth(cell) + 2);
    });
    return `${text}\n`;
  };
  let out = '';
  if (withHeader) {
    out += line(all[0]);
    out += `${'-'.repeat(widths.reduce((sum, w) => sum + w + 3, 0))}\n`;
  }
  for (const row of all.slice(1)) out += line(row);
  return out;
}
