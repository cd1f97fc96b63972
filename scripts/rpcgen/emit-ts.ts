/**
 * Writes one TypeScript module for one parsed .x file: its constants, a type and a codec
 * for each typedef/struct/enum/union (codecs keep the .x names, types are PascalCase), and
 * for each `*_procedure` enum a table of procedure specs, pairing REMOTE_PROC_FOO with the
 * structs remote_foo_args / remote_foo_ret / remote_foo_msg the way libvirt's own
 * generator pairs them.
 */
import { LIBVIRT_H_CONSTANTS } from './libvirt-h-constants.js';
import type { XdrDecl, XdrDefinition } from './xdr-parse.js';

/** One .x file to emit, and the already-emitted modules whose names it uses. */
export interface ProtocolModule {
  /** The .x path as the header names it, e.g. src/rpc/protocol/remote_protocol.x. */
  source: string;
  /** The module's import specifier for others, e.g. ./remote-protocol.js. */
  specifier: string;
  definitions: XdrDefinition[];
  imports: ProtocolModule[];
  /** REMOTE_PROC_ → remote_, QEMU_PROC_ → qemu_. */
  procPrefix: string;
  structPrefix: string;
  /** The exported name of the procedure table. */
  tableName: string;
  /** Whose declarations these are: libvirt's (LGPL-2.1-or-later) or snapvirt's own program (MIT). */
  licence: 'libvirt' | 'snapvirt';
}

const PRIMITIVES: Record<string, { codec: string; ts: string }> = {
  int: { codec: 'x.int', ts: 'number' },
  short: { codec: 'x.int', ts: 'number' },
  char: { codec: 'x.int', ts: 'number' },
  'unsigned int': { codec: 'x.uint', ts: 'number' },
  'unsigned short': { codec: 'x.uint', ts: 'number' },
  'unsigned char': { codec: 'x.uint', ts: 'number' },
  hyper: { codec: 'x.hyper', ts: 'bigint' },
  'unsigned hyper': { codec: 'x.uhyper', ts: 'bigint' },
  bool: { codec: 'x.bool', ts: 'boolean' },
  float: { codec: 'x.float', ts: 'number' },
  double: { codec: 'x.double', ts: 'number' },
};

/** remote_nonnull_domain → RemoteNonnullDomain. */
export function pascal(name: string): string {
  return name.split('_').filter(Boolean).map((p) => p[0].toUpperCase() + p.slice(1)).join('');
}

class Scope {
  readonly consts = new Map<string, number>();
  readonly types = new Set<string>();
  readonly importedTypes = new Map<string, string>();
  readonly importedConsts = new Map<string, string>();
  readonly usedImports = new Map<string, Set<string>>();

  constructor(mod: ProtocolModule) {
    const addFrom = (m: ProtocolModule, imported: boolean): void => {
      for (const d of m.definitions) {
        const names = d.kind === 'typedef' ? [d.decl.name] : d.kind === 'const' ? [] : [d.name];
        if (d.kind === 'const') {
          this.consts.set(d.name, this.#number(d.value));
          if (imported) this.importedConsts.set(d.name, m.specifier);
        }
        if (d.kind === 'enum') {
          for (const v of d.values) {
            this.consts.set(v.name, this.#number(v.value));
            if (imported) this.importedConsts.set(v.name, m.specifier);
          }
        }
        for (const n of names) {
          this.types.add(n);
          if (imported) this.importedTypes.set(n, m.specifier);
        }
      }
    };
    for (const m of mod.imports) addFrom(m, true);
    addFrom(mod, false);
  }

  #number(value: string): number {
    if (/^0x/i.test(value)) return Number.parseInt(value, 16);
    if (/^-?[0-9]+$/.test(value)) return Number(value);
    const known = this.consts.get(value) ?? LIBVIRT_H_CONSTANTS[value];
    if (known === undefined) throw new Error(`unknown constant ${value}`);
    return known;
  }

  number(value: string): number { return this.#number(value); }

  #use(specifier: string | undefined, name: string): void {
    if (!specifier) return;
    const set = this.usedImports.get(specifier) ?? new Set<string>();
    set.add(name);
    this.usedImports.set(specifier, set);
  }

  /** A size or limit as TypeScript: a constant's name where the .x names one, else the number. */
  size(value: string): string {
    if (/^(0x[0-9a-fA-F]+|-?[0-9]+)$/.test(value)) return String(this.#number(value));
    if (LIBVIRT_H_CONSTANTS[value] !== undefined && !this.consts.has(value)) return `${LIBVIRT_H_CONSTANTS[value]} /* ${value} */`;
    this.#use(this.importedConsts.get(value), value);
    return value;
  }

  /** The codec expression and TS type of a base type. */
  base(type: string): { codec: string; ts: string } {
    const prim = PRIMITIVES[type];
    if (prim) return prim;
    if (!this.types.has(type)) throw new Error(`unknown type ${type}`);
    const spec = this.importedTypes.get(type);
    this.#use(spec, type);
    this.#use(spec, `type ${pascal(type)}`);
    return { codec: type, ts: pascal(type) };
  }
}

function declCodec(scope: Scope, d: XdrDecl): { codec: string; ts: string } {
  if (d.kind === 'void') return { codec: 'x.xdrVoid', ts: 'null' };
  if (d.type === 'string') return { codec: `x.string(${d.size === undefined ? '0xffffffff' : scope.size(d.size)})`, ts: 'string' };
  if (d.type === 'opaque') {
    if (d.kind === 'fixed') return { codec: `x.fixedOpaque(${scope.size(d.size ?? '0')})`, ts: 'Buffer' };
    return { codec: `x.opaque(${d.size === undefined ? '0xffffffff' : scope.size(d.size)})`, ts: 'Buffer' };
  }
  const base = scope.base(d.type);
  switch (d.kind) {
    case 'plain': return base;
    case 'optional': return { codec: `x.optional(${base.codec})`, ts: `${base.ts} | null` };
    case 'fixed': return { codec: `x.fixedArray(${base.codec}, ${scope.size(d.size ?? '0')})`, ts: `${base.ts}[]` };
    case 'counted': return { codec: `x.array(${base.codec}, ${d.size === undefined ? '0xffffffff' : scope.size(d.size)})`, ts: `${base.ts}[]` };
  }
}

function emitDefinition(scope: Scope, d: XdrDefinition, out: string[]): void {
  switch (d.kind) {
    case 'const':
      out.push(`export const ${d.name} = ${/^0x/i.test(d.value) ? d.value : scope.size(d.value)};`);
      return;
    case 'typedef': {
      const c = declCodec(scope, d.decl);
      out.push(`export type ${pascal(d.decl.name)} = ${c.ts};`);
      out.push(`export const ${d.decl.name}: Codec<${pascal(d.decl.name)}> = ${c.codec};`);
      return;
    }
    case 'struct': {
      // One line each for the interface and the codec keeps the generated modules short.
      const fields = d.fields.map((f) => ({ f, c: declCodec(scope, f) }));
      out.push(`export interface ${pascal(d.name)} { ${fields.map(({ f, c }) => `${f.name}: ${c.ts}`).join('; ')} }`);
      out.push(`export const ${d.name}: Codec<${pascal(d.name)}> = x.struct<${pascal(d.name)}>({ ${fields.map(({ f, c }) => `${f.name}: ${c.codec}`).join(', ')} });`);
      return;
    }
    case 'enum': {
      out.push(`export const ${pascal(d.name)} = {`);
      for (const v of d.values) out.push(`  ${v.name}: ${scope.number(v.value)},`);
      out.push('} as const;');
      out.push(`export type ${pascal(d.name)} = number;`);
      out.push(`export const ${d.name}: Codec<number> = x.enumeration('${d.name}', Object.values(${pascal(d.name)}));`);
      return;
    }
    case 'union': {
      const arms = d.arms.flatMap((a) => a.cases.map((c) => ({ value: scope.number(c), decl: declCodec(scope, a.decl) })));
      out.push(`export type ${pascal(d.name)} =`);
      arms.forEach((a, i) => out.push(`  | { type: ${a.value}; value: ${a.decl.ts} }${i === arms.length - 1 ? ';' : ''}`));
      out.push(`export const ${d.name}: Codec<${pascal(d.name)}> = x.union<${pascal(d.name)}>('${d.name}', new Map<number, Codec<unknown>>([`);
      for (const a of arms) out.push(`  [${a.value}, ${a.decl.codec}],`);
      out.push(']));');
      return;
    }
  }
}

function emitProcedureTable(mod: ProtocolModule, scope: Scope, d: Extract<XdrDefinition, { kind: 'enum' }>, out: string[]): boolean {
  const structs = new Set(mod.definitions.filter((x) => x.kind === 'struct').map((x) => (x as { name: string }).name));
  out.push('');
  out.push(`/** The procedures of ${d.name}, by libvirt name. */`);
  out.push(`export const ${mod.tableName} = {`);
  let usesEvent = false;
  for (const v of d.values) {
    if (!v.name.startsWith(mod.procPrefix)) throw new Error(`${v.name} does not start with ${mod.procPrefix}`);
    const base = mod.structPrefix + v.name.slice(mod.procPrefix.length).toLowerCase();
    const num = scope.number(v.value);
    if (structs.has(`${base}_msg`)) {
      usesEvent = true;
      out.push(`  ${v.name}: eventProcedure(${num}, '${v.name}', ${base}_msg),`);
      continue;
    }
    const args = structs.has(`${base}_args`) ? `${base}_args` : 'x.xdrVoid';
    const ret = structs.has(`${base}_ret`) ? `${base}_ret` : 'x.xdrVoid';
    out.push(`  ${v.name}: procedure(${num}, '${v.name}', ${args}, ${ret}),`);
  }
  out.push('} as const;');
  return usesEvent;
}

/** The TypeScript source for `mod`. */
export function emitModule(mod: ProtocolModule): string {
  const scope = new Scope(mod);
  const body: string[] = [];
  let hasTable = false;
  let usesEvent = false;
  for (const d of mod.definitions) {
    // A blank line before each group of declarations of one kind.
    if (d.kind !== 'struct' || body.length === 0 || !body[body.length - 1].startsWith('export const ')) body.push('');
    emitDefinition(scope, d, body);
  }
  for (const d of mod.definitions) {
    if (d.kind === 'enum' && d.name.endsWith('_procedure') && mod.structPrefix) {
      hasTable = true;
      usesEvent = emitProcedureTable(mod, scope, d, body) || usesEvent;
    }
  }
  const head = [
    `// GENERATED by scripts/gen-rpc.ts from ${mod.source}: do not edit; run \`npm run gen:rpc\`.`,
    ...(mod.licence === 'snapvirt'
      ? ['// The declarations are snapvirt\'s own program (MIT, as the .x file says); this module', '// is their TypeScript encoding.']
      : ['// The declarations are libvirt\'s (LGPL-2.1-or-later, see the .x file\'s header); this', '// module is their TypeScript encoding.']),
    '/* eslint-disable */',
  ];
  const usesCodecs = body.some((l) => l.includes('x.'));
  if (usesCodecs) head.push(`import * as x from '../xdr-codec.js';`);
  if (body.some((l) => l.includes('Codec<'))) head.push(`import type { Codec } from '../xdr-codec.js';`);
  if (hasTable) head.push(`import { ${usesEvent ? 'eventProcedure, ' : ''}procedure } from '../procedure-spec.js';`);
  for (const [spec, names] of [...scope.usedImports].sort(([a], [b]) => a.localeCompare(b))) {
    head.push(`import { ${[...names].sort().join(', ')} } from '${spec}';`);
  }
  return `${head.join('\n')}\n${body.join('\n')}\n`;
}
