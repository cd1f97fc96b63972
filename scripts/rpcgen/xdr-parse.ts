/**
 * A parser for the subset of the XDR language (RFC 4506 section 6, plus rpcgen's
 * conventions) that libvirt's .x protocol files use: const, typedef, struct, enum, union
 * switch (int …), optional `*` pointers, fixed `[n]` and counted `<n>` arrays, string,
 * opaque, the integer types, bool, float, double. `%` pass-through lines and comments are
 * skipped. Anything else is a parse error naming the line.
 */

/** A type as written: a named base type plus how it is wrapped. */
export interface XdrDecl {
  name: string;
  /** The base type: a primitive name or a declared type's name. */
  type: string;
  kind: 'plain' | 'optional' | 'fixed' | 'counted' | 'void';
  /** The size of `[n]` or the limit of `<n>` (a number or a constant's name; undefined for `<>`). */
  size?: string;
}

export type XdrDefinition =
  | { kind: 'const'; name: string; value: string }
  | { kind: 'typedef'; decl: XdrDecl }
  | { kind: 'struct'; name: string; fields: XdrDecl[] }
  | { kind: 'enum'; name: string; values: { name: string; value: string }[] }
  | { kind: 'union'; name: string; discriminant: XdrDecl; arms: { cases: string[]; decl: XdrDecl }[] };

/** A parse error at a line of the .x file. */
export class XdrParseError extends Error {
  override readonly name = 'XdrParseError';
}

interface Token { text: string; line: number }

const PUNCT = new Set(['{', '}', '[', ']', '<', '>', ';', '*', '=', ',', ':', '(', ')']);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === '\n') { line++; i++; continue; }
    if (/\s/.test(c)) { i++; continue; }
    if (c === '%' && (i === 0 || source[i - 1] === '\n')) {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) throw new XdrParseError(`line ${line}: unterminated comment`);
      for (const ch of source.slice(i, end)) if (ch === '\n') line++;
      i = end + 2;
      continue;
    }
    if (PUNCT.has(c)) { tokens.push({ text: c, line }); i++; continue; }
    const m = /^(0x[0-9a-fA-F]+|-?[0-9]+|[A-Za-z_][A-Za-z0-9_]*)/.exec(source.slice(i, i + 200));
    if (!m) throw new XdrParseError(`line ${line}: unexpected character ${JSON.stringify(c)}`);
    tokens.push({ text: m[0], line });
    i += m[0].length;
  }
  return tokens;
}

class Parser {
  #tokens: Token[];
  #i = 0;
  constructor(tokens: Token[]) { this.#tokens = tokens; }

  get done(): boolean { return this.#i >= this.#tokens.length; }
  peek(): string | undefined { return this.#tokens[this.#i]?.text; }
  #line(): number { return (this.#tokens[this.#i] ?? this.#tokens[this.#tokens.length - 1])?.line ?? 0; }
  next(): string {
    const t = this.#tokens[this.#i++];
    if (!t) throw new XdrParseError('unexpected end of file');
    return t.text;
  }
  expect(text: string): void {
    const line = this.#line();
    const got = this.next();
    if (got !== text) throw new XdrParseError(`line ${line}: expected "${text}", found "${got}"`);
  }
  ident(): string {
    const line = this.#line();
    const t = this.next();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(t)) throw new XdrParseError(`line ${line}: expected a name, found "${t}"`);
    return t;
  }
  value(): string {
    const line = this.#line();
    const t = this.next();
    if (!/^(0x[0-9a-fA-F]+|-?[0-9]+|[A-Za-z_][A-Za-z0-9_]*)$/.test(t)) throw new XdrParseError(`line ${line}: expected a value, found "${t}"`);
    return t;
  }
  fail(what: string): never { throw new XdrParseError(`line ${this.#line()}: ${what}`); }

  /** A type specifier: `unsigned int`, `unsigned hyper`, `unsigned` alone, or one word. */
  typeSpec(): string {
    const first = this.ident();
    if (first === 'struct' || first === 'enum' || first === 'union') this.fail(`inline ${first} definitions are not supported`);
    if (first !== 'unsigned') return first;
    const second = this.peek();
    if (second === 'int' || second === 'hyper' || second === 'char' || second === 'short' || second === 'long') {
      this.next();
      return `unsigned ${second}`;
    }
    return 'unsigned int';
  }

  /** A declaration: `void`, `type name`, `type *name`, `type name[n]`, `type name<n>`. */
  decl(): XdrDecl {
    if (this.peek() === 'void') { this.next(); return { name: '', type: 'void', kind: 'void' }; }
    const type = this.typeSpec();
    if (this.peek() === '*') {
      this.next();
      return { name: this.ident(), type, kind: 'optional' };
    }
    const name = this.ident();
    if (this.peek() === '[') {
      this.next();
      const size = this.value();
      this.expect(']');
      return { name, type, kind: 'fixed', size };
    }
    if (this.peek() === '<') {
      this.next();
      let size: string | undefined;
      if (this.peek() !== '>') size = this.value();
      this.expect('>');
      return { name, type, kind: 'counted', size };
    }
    if (type === 'string') this.fail(`string ${name} needs a <limit>`);
    return { name, type, kind: 'plain' };
  }

  definition(): XdrDefinition {
    const word = this.ident();
    switch (word) {
      case 'const': {
        const name = this.ident();
        this.expect('=');
        const value = this.value();
        this.expect(';');
        return { kind: 'const', name, value };
      }
      case 'typedef': {
        const decl = this.decl();
        this.expect(';');
        return { kind: 'typedef', decl };
      }
      case 'struct': {
        const name = this.ident();
        this.expect('{');
        const fields: XdrDecl[] = [];
        while (this.peek() !== '}') {
          fields.push(this.decl());
          this.expect(';');
        }
        this.expect('}');
        this.expect(';');
        return { kind: 'struct', name, fields };
      }
      case 'enum': {
        const name = this.ident();
        this.expect('{');
        const values: { name: string; value: string }[] = [];
        while (this.peek() !== '}') {
          const valueName = this.ident();
          this.expect('=');
          values.push({ name: valueName, value: this.value() });
          if (this.peek() === ',') this.next();
        }
        this.expect('}');
        this.expect(';');
        return { kind: 'enum', name, values };
      }
      case 'union': {
        const name = this.ident();
        this.expect('switch');
        this.expect('(');
        const discriminant = this.decl();
        this.expect(')');
        this.expect('{');
        const arms: { cases: string[]; decl: XdrDecl }[] = [];
        while (this.peek() !== '}') {
          const cases: string[] = [];
          while (this.peek() === 'case') {
            this.next();
            cases.push(this.value());
            this.expect(':');
          }
          if (cases.length === 0) this.fail(`union ${name}: expected "case" (default arms are not supported)`);
          arms.push({ cases, decl: this.decl() });
          this.expect(';');
        }
        this.expect('}');
        this.expect(';');
        return { kind: 'union', name, discriminant, arms };
      }
      default:
        return this.fail(`unsupported definition "${word}"`);
    }
  }
}

/** Parses a whole .x file into its definitions, in file order. */
export function parseXdr(source: string): XdrDefinition[] {
  const parser = new Parser(tokenize(source));
  const out: XdrDefinition[] = [];
  while (!parser.done) out.push(parser.definition());
  return out;
}
