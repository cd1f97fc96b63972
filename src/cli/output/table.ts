/**
 * virsh's table layout (tools/vsh-table.c): every cell is preceded by one space, every
 * column but the last is padded to its widest cell plus two spaces, and the header is
 * followed by a line of dashes as wide as all columns plus three per column. Quiet mode
 * prints no header and no dashes.
 */

/** Makes a cell printable the way vshTableSafeEncode does: control characters become `\xNN`. */
export function safeCell(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

/** The width a cell takes on a terminal: one column per code point. */
function displayWidth(text: string): number {
  return [...text].length;
}

/** Formats `rows` under `header` as vshTablePrintToStdout does; `withHeader` false for -q. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], withHeader: boolean): string {
  const all = [header, ...rows].map((row) => row.map(safeCell));
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
