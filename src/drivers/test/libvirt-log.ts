/**
 * The log lines libvirt prints on stderr when a driver runs inside the client process, as
 * the test driver does under virsh: libvirt's default log output is stderr at level
 * "warning", and the first message of a process is preceded by two "info" lines naming the
 * library version and the host. Also libxml2's own "I/O warning" for unreadable files.
 * Set SNAPVIRT_LOG_OUTPUTS=none (or LIBVIRT_LOG_OUTPUTS to anything but stderr) to silence them.
 */
import { hostname } from 'node:os';

/** libvirt's package string on the Debian 12 build snapvirt mirrors. */
const LIBVIRT_VERSION_LINE = 'libvirt version: 9.0.0, package: 9.0.0-4+deb12u2 (Debian)';

let preambleWritten = false;

function enabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.SNAPVIRT_LOG_OUTPUTS === 'none') return false;
  const outputs = env.LIBVIRT_LOG_OUTPUTS;
  return outputs === undefined || outputs === '' || /:stderr\b/.test(outputs);
}

/** "2026-11-25 18:07:33.873+0000" in UTC, libvirt's log timestamp. */
function timestamp(now: Date): string {
  const iso = now.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}+0000`;
}

function writeLine(level: 'info' | 'warning', text: string): void {
  process.stderr.write(`${timestamp(new Date())}: ${process.pid}: ${level} : ${text}\n`);
}

/** Logs a libvirt VIR_WARN from `func`:`line`, e.g. ("virDomainSnapshotDefParse", 287, "…"). */
export function libvirtWarning(func: string, line: number, message: string): void {
  if (!enabled()) return;
  if (!preambleWritten) {
    preambleWritten = true;
    writeLine('info', LIBVIRT_VERSION_LINE);
    writeLine('info', `hostname: ${hostname()}`);
  }
  writeLine('warning', `${func}:${line} : ${message}`);
}

/** libxml2's warning for a document it cannot open (libxml2 collapses repeated slashes). */
export function libxmlLoadWarning(path: string): void {
  if (!enabled()) return;
  process.stderr.write(`I/O warning : failed to load external entity "${path.replace(/\/+/g, '/')}"\n`);
}
