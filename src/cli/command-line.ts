/**
 * Splitting a command string into tokens the way virsh does (vshCommandStringGetArg):
 * blanks separate arguments, `;` and newlines separate commands, `'…'` quotes literally,
 * `"…"` quotes with backslash escapes, a backslash escapes one character, and an argument
 * starting with `#` comments out the rest of the line.
 */

/** What the tokenizer hands the parser next. */
export type Token =
  | { readonly kind: 'arg'; readonly value: string }
  | { readonly kind: 'commandEnd' }
  | { readonly kind: 'end' }
  | { readonly kind: 'error'; readonly message: string };

/** A source of tokens: a command string, or an argv array. */
export interface TokenSource {
  next(): Token;
}

/** Tokenizes one virsh command string, possibly holding several `;`-separated commands. */
export class StringTokenSource implements TokenSource {
  private pos = 0;
  constructor(private readonly text: string) {}

  next(): Token {
    const s = this.text;
    let p = this.pos;
    while (s[p] === ' ' || s[p] === '\t' || (s[p] === '\\' && s[p + 1] === '\n')) p += s[p] === '\\' ? 2 : 1;
    if (p >= s.length) {
      this.pos = p;
      return { kind: 'end' };
    }
    if (s[p] === ';' || s[p] === '\n') {
      this.pos = p + 1;
      return { kind: 'commandEnd' };
    }
    if (s[p] === '#') {
      while (p < s.length && s[p] !== '\n') p++;
      this.pos = p < s.length ? p + 1 : p;
      return { kind: 'commandEnd' };
    }
    let single = false;
    let double = false;
    let out = '';
    while (p < s.length) {
      const c = s[p];
      if (!single && !double && (c === ' ' || c === '\t' || c === ';' || c === '\n')) break;
      if (!double && c === "'") {
        single = !single;
        p++;
        continue;
      }
      if (!single && c === '\\') {
        p++;
        if (p >= s.length) return { kind: 'error', message: 'dangling \\' };
        if (s[p] === '\n') {
          p++;
          continue;
        }
      } else if (!single && c === '"') {
        double = !double;
        p++;
        continue;
      }
      out += s[p];
      p++;
    }
    // As in virsh, an unterminated single quote is accepted; only `"` must be closed.
    if (double) return { kind: 'error', message: 'missing "' };
    this.pos = p;
    return { kind: 'arg', value: out };
  }
}

/** Hands out already-split arguments (`snapvirt cmd arg…`): one command, no quoting. */
export class ArgvTokenSource implements TokenSource {
  private index = 0;
  constructor(private readonly args: readonly string[]) {}

  next(): Token {
    if (this.index >= this.args.length) return { kind: 'end' };
    return { kind: 'arg', value: this.args[this.index++] };
  }
}

/** Splits a string on `,` with `,,` standing for a literal comma (vshStringToArray). */
export function splitCommaList(text: string): string[] {
  // virsh 9.0 splits with g_strsplit, which yields no element at all for "".
  if (text === '') return [];
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ',') {
      if (text[i + 1] === ',') {
        current += ',';
        i++;
        continue;
      }
      parts.push(current);
      current = '';
      continue;
    }
    current += text[i];
  }
  parts.push(current);
  return parts;
}
