/**
 * Real programs as oracles for conf/ tests: libvirt's virsh on the built-in test driver
 * (no daemon needed) and xmllint with libvirt's RelaxNG schemas.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/fixtures/conf, resolved from dist/test/conf/ or test/conf/. */
export const CONF_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/conf/', import.meta.url));

/** A private temporary directory, removed at process exit. */
export const scratchDir = mkdtempSync(join(tmpdir(), 'snapvirt-conf-'));
process.on('exit', () => rmSync(scratchDir, { recursive: true, force: true }));

let counter = 0;
/** Writes `content` to a fresh file in the scratch directory and returns its path. */
export function scratchFile(content: string | Buffer, ext = 'xml'): string {
  counter += 1;
  const path = join(scratchDir, `f${counter}.${ext}`);
  writeFileSync(path, content);
  return path;
}

/** Runs `xmllint --noout --relaxng <schema>.rng` on `xml`; true when it validates. */
export function xmllintValidates(xml: string, schema: 'domainsnapshot' | 'domain'): { ok: boolean; output: string } {
  const file = scratchFile(xml);
  const result = spawnSync('xmllint', ['--noout', '--relaxng', `/usr/share/libvirt/schemas/${schema}.rng`, file], {
    encoding: 'utf8',
  });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

/** Runs one virsh batch on test:///default; returns its stdout, stderr and exit status. */
export function virsh(commands: string): { stdout: string; stderr: string; status: number } {
  const result = spawnSync('virsh', ['-c', 'test:///default', commands], { encoding: 'utf8' });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status ?? -1 };
}

/**
 * The libvirt error message virsh printed for the last failing command: virsh writes
 * "error: <message>\n" on stderr; lines before the last "error: " block
 * (such as "error: Failed to define domain from …") and log lines are dropped.
 */
export function virshErrorMessage(stderr: string): string {
  const lines = stderr
    .split('\n')
    .filter((line) => !/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\+0000: \d+: /.test(line));
  let start = -1;
  lines.forEach((line, index) => {
    if (line.startsWith('error: ')) start = index;
  });
  if (start < 0) throw new Error(`virsh printed no error: ${stderr}`);
  const body = lines.slice(start).join('\n').slice('error: '.length);
  if (!body.endsWith('\n')) throw new Error(`unexpected virsh stderr ending: ${JSON.stringify(stderr)}`);
  return body.slice(0, -1);
}
