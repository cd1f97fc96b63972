/**
 * snapshot-create-as: build `<domainsnapshot>` XML from arguments, byte for byte as
 * virsh 9.0 does (including its quirks with empty specs), then create or print it.
 */
import { SnapshotCreateFlags as F } from '../../api/flags.js';
import type { CommandDef } from '../command-def.js';
import { splitCommaList } from '../command-line.js';
import type { Control } from '../control.js';
import { lookupDomain } from '../domain-lookup.js';
import { escapeXml } from '../output/escape.js';
import { CommandAborted, optArgv, optBool, optString } from '../option-values.js';
import { createSnapshot, DOMAIN_OPTION } from './snapshot-common.js';

/** virBufferEscapeString: nothing at all when the value is absent. */
function escaped(format: string, value: string | undefined): string {
  return value === undefined ? '' : format.replace('%s', escapeXml(value));
}

/** The `<memory>` line for `--memspec [file=]PATH[,snapshot=TYPE]` (virshParseSnapshotMemspec). */
export function memspecXml(spec: string): string | null {
  let snapshot: string | undefined;
  let file: string | undefined;
  for (const part of splitCommaList(spec)) {
    if (snapshot === undefined && part.startsWith('snapshot=')) snapshot = part.slice('snapshot='.length);
    else if (file === undefined && part.startsWith('file=')) file = part.slice('file='.length);
    else if (file === undefined && part.startsWith('/')) file = part;
    else return null;
  }
  return `<memory${escaped(" snapshot='%s'", snapshot)}${escaped(" file='%s'", file)}/>\n`;
}

/** Result of parsing a diskspec: the XML lines, or the error messages virsh prints. */
export type DiskspecResult = { ok: true; lines: string[] } | { ok: false; errors: string[] };

/** The `<disk>` element for `--diskspec DISK[,snapshot=T][,driver=F][,stype=S][,file=P]`. */
export function diskspecXml(spec: string): DiskspecResult {
  const parts = splitCommaList(spec);
  const name: string | undefined = parts[0];
  let snapshot: string | undefined;
  let driver: string | undefined;
  let stype: string | undefined;
  let file: string | undefined;
  const fail: DiskspecResult = { ok: false, errors: [`unable to parse diskspec: ${spec}`] };
  for (const part of parts.slice(1)) {
    if (snapshot === undefined && part.startsWith('snapshot=')) snapshot = part.slice(9);
    else if (driver === undefined && part.startsWith('driver=')) driver = part.slice(7);
    else if (stype === undefined && part.startsWith('stype=')) stype = part.slice(6);
    else if (file === undefined && part.startsWith('file=')) file = part.slice(5);
    else return fail;
  }
  // virsh writes snapshot= before type= (virshParseSnapshotDiskspec).
  let isFile = true;
  let attrs = '';
  if (snapshot !== undefined) attrs += ` snapshot='${snapshot}'`;
  if (stype !== undefined) {
    if (stype === 'block') isFile = false;
    else if (stype !== 'file') return { ok: false, errors: [`Unknown storage type: '${stype}'`, ...fail.errors] };
    attrs += ` type='${stype}'`;
  }
  const open = `${escaped("<disk name='%s'", name)}${attrs}`;
  if (driver === undefined && file === undefined) return { ok: true, lines: [`${open}/>`] };
  const lines = [`${open}>`];
  if (driver !== undefined) lines.push(`  <driver type='${driver}'/>`);
  if (file !== undefined) lines.push(escaped(isFile ? "  <source file='%s'/>" : "  <source dev='%s'/>", file));
  lines.push('</disk>');
  return { ok: true, lines };
}

/** Builds the whole document; prints the parse error and aborts on a bad spec. */
export function buildSnapshotXml(
  ctl: Control, name: string | undefined, description: string | undefined,
  memspec: string | undefined, diskspecs: string[] | undefined,
): string {
  let xml = '<domainsnapshot>\n';
  xml += escaped('  <name>%s</name>\n', name);
  xml += escaped('  <description>%s</description>\n', description);
  if (memspec !== undefined) {
    const memory = memspecXml(memspec);
    if (memory === null) {
      ctl.error(`unable to parse memspec: ${memspec}`);
      throw new CommandAborted();
    }
    xml += `  ${memory}`;
  }
  if (diskspecs !== undefined) {
    xml += '  <disks>\n';
    for (const spec of diskspecs) {
      const disk = diskspecXml(spec);
      if (!disk.ok) {
        for (const e of disk.errors) ctl.error(e);
        throw new CommandAborted();
      }
      for (const line of disk.lines) xml += `    ${line}\n`;
    }
    xml += '  </disks>\n';
  }
  return `${xml}</domainsnapshot>\n`;
}

/** `snapshot-create-as DOMAIN [NAME] [DESCRIPTION] [--memspec …] [DISKSPEC]…` */
export const snapshotCreateAs: CommandDef = {
  name: 'snapshot-create-as',
  help: 'Create a snapshot from a set of args',
  desc: 'Create a snapshot (disk and RAM) from arguments',
  opts: [
    DOMAIN_OPTION,
    { name: 'name', type: 'string', help: 'name of snapshot' },
    { name: 'description', type: 'string', help: 'description of snapshot' },
    { name: 'print-xml', type: 'bool', help: 'print XML document rather than create' },
    { name: 'no-metadata', type: 'bool', help: 'take snapshot but create no metadata' },
    { name: 'halt', type: 'bool', help: 'halt domain after snapshot is created' },
    { name: 'disk-only', type: 'bool', help: 'capture disk state but not vm state' },
    { name: 'reuse-external', type: 'bool', help: 'reuse any existing external files' },
    { name: 'quiesce', type: 'bool', help: "quiesce guest's file systems" },
    { name: 'atomic', type: 'bool', help: 'require atomic operation' },
    { name: 'live', type: 'bool', help: 'take a live snapshot' },
    { name: 'validate', type: 'bool', help: 'validate the XML against the schema' },
    { name: 'memspec', type: 'string', namedOnly: true, help: 'memory attributes: [file=]name[,snapshot=type]' },
    { name: 'diskspec', type: 'argv', help: 'disk attributes: disk[,snapshot=type][,driver=type][,stype=type][,file=name]' },
  ],
  async handler(ctl, cmd) {
    let flags = 0;
    const table: Array<[string, number]> = [
      ['no-metadata', F.NO_METADATA], ['halt', F.HALT], ['disk-only', F.DISK_ONLY],
      ['reuse-external', F.REUSE_EXT], ['quiesce', F.QUIESCE], ['atomic', F.ATOMIC],
      ['live', F.LIVE], ['validate', F.VALIDATE],
    ];
    for (const [name, bit] of table) if (optBool(cmd, name)) flags |= bit;
    const dom = await lookupDomain(ctl, cmd);
    const name = optString(ctl, cmd, 'name');
    const description = optString(ctl, cmd, 'description');
    const memspec = optString(ctl, cmd, 'memspec');
    const diskspecs = optBool(cmd, 'diskspec') ? optArgv(cmd, 'diskspec') : undefined;
    const xml = buildSnapshotXml(ctl, name, description, memspec, diskspecs);
    if (optBool(cmd, 'print-xml')) {
      ctl.print(`${xml}\n`);
      return true;
    }
    return createSnapshot(ctl, dom, xml, flags, undefined);
  },
};
