/**
 * `npm run gen:rpc`: reads libvirt's protocol definitions (src/rpc/protocol/*.x) and writes
 * their TypeScript encoders (and those of snapvirt's own program, snapvirt_protocol.x) and decoders to src/rpc/generated/. The generated files are
 * committed; test/rpc/generated-current.test.ts fails when they differ from what this
 * script would write now.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { emitModule, type ProtocolModule } from './rpcgen/emit-ts.js';
import { parseXdr } from './rpcgen/xdr-parse.js';

/** The repository root (this file runs from dist/scripts/). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface ModuleSource {
  x: string;
  out: string;
  imports: string[];
  procPrefix: string;
  structPrefix: string;
  tableName: string;
  /** Whose declarations these are: libvirt's extracts (LGPL) or snapvirt's own program (MIT). */
  licence: 'libvirt' | 'snapvirt';
}

/** Each .x file, the module it becomes, and the modules it uses (in dependency order). */
export const PROTOCOL_SOURCES: readonly ModuleSource[] = [
  { x: 'virnetprotocol.x', out: 'virnet-protocol.ts', imports: [], procPrefix: '', structPrefix: '', tableName: '', licence: 'libvirt' },
  { x: 'virkeepaliveprotocol.x', out: 'keepalive-protocol.ts', imports: [], procPrefix: 'KEEPALIVE_PROC_', structPrefix: 'keepalive_', tableName: 'keepaliveProcedures', licence: 'libvirt' },
  { x: 'remote_protocol.x', out: 'remote-protocol.ts', imports: [], procPrefix: 'REMOTE_PROC_', structPrefix: 'remote_', tableName: 'remoteProcedures', licence: 'libvirt' },
  { x: 'qemu_protocol.x', out: 'qemu-protocol.ts', imports: ['remote_protocol.x'], procPrefix: 'QEMU_PROC_', structPrefix: 'qemu_', tableName: 'qemuProcedures', licence: 'libvirt' },
  { x: 'snapvirt_protocol.x', out: 'snapvirt-protocol.ts', imports: ['remote_protocol.x'], procPrefix: 'SNAPVIRT_PROC_', structPrefix: 'snapvirt_', tableName: 'snapvirtProcedures', licence: 'snapvirt' },
];

/** The generated files' contents, by path relative to the repository root. */
export function generateAll(root: string = ROOT): Map<string, string> {
  const modules = new Map<string, ProtocolModule>();
  const out = new Map<string, string>();
  for (const src of PROTOCOL_SOURCES) {
    const source = `src/rpc/protocol/${src.x}`;
    const mod: ProtocolModule = {
      source,
      specifier: `./${src.out.replace(/\.ts$/, '.js')}`,
      definitions: parseXdr(readFileSync(root + source, 'utf8')),
      imports: src.imports.map((name) => {
        const m = modules.get(name);
        if (!m) throw new Error(`${src.x} imports ${name}, which comes later`);
        return m;
      }),
      procPrefix: src.procPrefix,
      structPrefix: src.structPrefix,
      tableName: src.tableName,
      licence: src.licence,
    };
    modules.set(src.x, mod);
    out.set(`src/rpc/generated/${src.out}`, emitModule(mod));
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [path, text] of generateAll()) {
    writeFileSync(ROOT + path, text);
    process.stdout.write(`wrote ${path}\n`);
  }
}
