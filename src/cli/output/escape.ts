/** libvirt's virBuffer escapes, used by echo and by snapshot-create-as's generated XML. */

/**
 * virBufferEscapeString: escapes `<>&"'` and silently drops control characters other
 * than tab, newline and carriage return.
 */
export function escapeXml(text: string): string {
  let out = '';
  for (const ch of text) {
    switch (ch) {
      case '<': out += '&lt;'; break;
      case '>': out += '&gt;'; break;
      case '&': out += '&amp;'; break;
      case '"': out += '&quot;'; break;
      case "'": out += '&apos;'; break;
      default: {
        const code = ch.codePointAt(0) ?? 0;
        if (code >= 0x20 || ch === '\n' || ch === '\t' || ch === '\r') out += ch;
      }
    }
  }
  return out;
}

const SHELL_SPECIAL = /[\r\t\n !"#$&'()*;<>?[\\\]^`{|}~]/;

/** virBufferEscapeShell: the text as one shell word, single-quoted when it needs quoting. */
export function escapeShell(text: string): string {
  if (text !== '' && !SHELL_SPECIAL.test(text)) return text;
  return `'${text.replace(/'/g, "'\\''")}'`;
}
