/**
 * What a QEMU binary offers, asked once per binary and process (`-device help`,
 * `-cpu help`), as libvirt's capabilities cache does: a definition naming a device or CPU
 * model this QEMU lacks is refused with libvirt's message before anything starts.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { virError, VirErrorCode, VirErrorDomain } from '../../../api/errors.js';
import { errnoText } from '../../../api/errno-text.js';
import type { DomainDef } from '../../../conf/domain-types.js';
import { childElement, childElements } from '../../../conf/xml-tree.js';

const run = promisify(execFile);

/** Device and CPU model names of one binary. */
export interface QemuCapabilities {
  devices: ReadonlySet<string>;
  cpuModels: ReadonlySet<string>;
}

const cache = new Map<string, Promise<QemuCapabilities>>();

/** The capabilities of `binary` (cached; a failed probe is not cached). */
export function qemuCapabilities(binary: string): Promise<QemuCapabilities> {
  let probe = cache.get(binary);
  if (!probe) {
    probe = probeCapabilities(binary);
    cache.set(binary, probe);
    probe.catch(() => cache.delete(binary));
  }
  return probe;
}

async function probeCapabilities(binary: string): Promise<QemuCapabilities> {
  const ask = async (what: string): Promise<string> => {
    try {
      return (await run(binary, ['-nodefaults', '-machine', 'none', what, 'help'], { timeout: 30_000, maxBuffer: 8 << 20 })).stdout;
    } catch (err) {
      throw virError(VirErrorCode.SYSTEM_ERROR, VirErrorDomain.QEMU, `Cannot check QEMU binary ${binary}: ${errnoText(err)}`);
    }
  };
  const devices = new Set<string>();
  for (const m of (await ask('-device')).matchAll(/^name "([^"]+)"/gm)) devices.add(m[1]!);
  const cpuModels = new Set<string>();
  // "x86 Skylake-Client  Intel Core Processor (Skylake)" lines, then flag lists.
  for (const m of (await ask('-cpu')).matchAll(/^x86 +(\S+)/gm)) cpuModels.add(m[1]!);
  return { devices, cpuModels };
}

/**
 * The capabilities a definition needs checked, or undefined when none: only a video
 * card, a named CPU model or a NIC model depends on the build, so a plain domain's start
 * does not pay for the probe.
 */
export async function capabilitiesFor(def: DomainDef, binary: string): Promise<QemuCapabilities | undefined> {
  const devices = childElement(def.element, 'devices');
  const cpu = childElement(def.element, 'cpu');
  const needed = (devices !== undefined && childElements(devices).some((d) => d.name === 'video' || d.name === 'interface'))
    || (cpu !== undefined && childElement(cpu, 'model') !== undefined);
  return needed ? qemuCapabilities(binary) : undefined;
}
