/**
 * Reads a domain of a libvirt daemon through the system's `virsh -c URI`: its state, its
 * inactive definition and its snapshots' metadata, with secrets (--security-info), in the
 * shape import-libvirt needs. Only reading commands are run; libvirt is never changed.
 */
import { execFile } from 'node:child_process';
import { VirErrorCode, VirErrorDomain, virError, type VirError } from '../api/errors.js';

/** libvirt's default system URI, as `virsh` without `-c` would use for root. */
export const DEFAULT_LIBVIRT_URI = 'qemu:///system';

/** One snapshot of a libvirt domain, as `virsh snapshot-dumpxml --security-info` prints it. */
export interface LibvirtSnapshot {
  name: string;
  xml: string;
}

/** What libvirt holds for one domain, read with virsh. */
export interface LibvirtDomainSource {
  uri: string;
  /** `virsh domstate`'s text: "shut off", "running", "paused", … */
  state: string;
  /** `dumpxml --security-info --inactive` */
  domainXml: string;
  /** Parents before children (`snapshot-list --topological`). */
  snapshots: LibvirtSnapshot[];
  /** libvirt's current snapshot, or null when it has none. */
  current: string | null;
  /** Whether libvirt keeps a managed save image (saved memory) of the domain. */
  managedSave: boolean;
  /** The domain's checkpoints in libvirt (snapvirt has none; they are not imported). */
  checkpoints: string[];
}

interface VirshOutcome { stdout: string; stderr: string; code: number }

function runVirsh(uri: string, args: readonly string[]): Promise<VirshOutcome> {
  return new Promise((resolve) => {
    // LC_ALL=C: domstate and dominfo are read as text, in English.
    execFile('virsh', ['-q', '-c', uri, ...args], { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err && typeof err.code === 'string') resolve({ stdout: '', stderr: `cannot run virsh: ${err.message}`, code: 127 });
        else resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 });
      });
  });
}

/** virsh's error lines without their "error: " prefixes, on one line. */
function virshErrorText(stderr: string): string {
  return stderr.split('\n').map((l) => l.trim().replace(/^error: /, '')).filter((l) => l !== '').join(': ');
}

function readFailure(name: string, uri: string, args: readonly string[], out: VirshOutcome): VirError {
  return virError(VirErrorCode.OPERATION_FAILED, VirErrorDomain.DOMAIN,
    `cannot read domain '${name}' from libvirt (${uri}): virsh ${args.join(' ')}: ${virshErrorText(out.stderr) || `exit status ${out.code}`}`);
}

/** Reads `name` (a name, UUID or id, as virsh takes it) from the libvirt daemon at `uri`. */
export async function readLibvirtDomain(name: string, uri: string = DEFAULT_LIBVIRT_URI): Promise<LibvirtDomainSource> {
  const virsh = async (args: readonly string[]): Promise<string> => {
    const out = await runVirsh(uri, args);
    if (out.code !== 0) throw readFailure(name, uri, args, out);
    return out.stdout;
  };
  const stateRun = await runVirsh(uri, ['domstate', name]);
  if (stateRun.code !== 0) {
    // virsh 9.0 says only "failed to get domain 'X'" for a domain its daemon does not have.
    if (/failed to get domain/.test(stateRun.stderr)) {
      throw virError(VirErrorCode.NO_DOMAIN, VirErrorDomain.DOMAIN, `no domain with matching name '${name}' in libvirt (${uri})`);
    }
    throw readFailure(name, uri, ['domstate', name], stateRun);
  }
  const state = stateRun.stdout.trim();
  const info = await virsh(['dominfo', name]);
  const managedSave = /^Managed save:\s+yes$/m.test(info);
  const domainXml = await virsh(['dumpxml', '--security-info', '--inactive', name]);
  const names = lines(await virsh(['snapshot-list', '--topological', '--name', name]));
  const snapshots: LibvirtSnapshot[] = [];
  for (const snap of names) snapshots.push({ name: snap, xml: await virsh(['snapshot-dumpxml', '--security-info', name, snap]) });
  let current: string | null = null;
  if (snapshots.length > 0) {
    const cur = await runVirsh(uri, ['snapshot-current', '--name', name]);
    if (cur.code === 0) current = cur.stdout.trim() || null;
    else if (!/has no current snapshot/.test(cur.stderr)) throw readFailure(name, uri, ['snapshot-current', '--name', name], cur);
  }
  // A libvirt without checkpoint support has none to lose; only a listing that worked counts.
  const cps = await runVirsh(uri, ['checkpoint-list', '--name', name]);
  const checkpoints = cps.code === 0 ? lines(cps.stdout) : [];
  return { uri, state, domainXml, snapshots, current, managedSave, checkpoints };
}

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}
