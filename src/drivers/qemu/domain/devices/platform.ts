/**
 * The machine around the devices, as libvirt maps it: `<features>` (acpi: without it
 * ACPI is off, as the machine property `acpi=off`, which later QEMUs keep while libvirt
 * 9.0 passed the deprecated `-no-acpi`; apic and pae are the x86 defaults; vmport → the
 * machine's vmport), `<clock>`
 * (utc or localtime, rtc catchup → driftfix=slew, pit delay, hpet off → the machine's
 * hpet=off, libvirt 9.0's -no-hpet),
 * `<pm>` (S3/S4 on the chipset's power management device), the lifecycle actions QEMU
 * can do (`on_reboot` destroy → -no-reboot) and `<os><bootmenu>`. What it cannot do is
 * refused by name.
 */
import { attrValue, childElement, childElements, textContent, type XmlElement } from '../../../../conf/xml-tree.js';
import type { DeviceContext } from './device-context.js';
import { notHonoured, refuseOtherAttributes, refuseOtherChildren, unsupportedConfig } from './qemu-option.js';

/** Adds the platform arguments; returns extra `-machine` properties (vmport=off…). */
export function addPlatform(ctx: DeviceContext): string[] {
  const machineProps: string[] = [];
  addFeatures(ctx, childElement(ctx.def.element, 'features'), machineProps);
  addClock(ctx, childElement(ctx.def.element, 'clock'), machineProps);
  addPowerManagement(ctx, childElement(ctx.def.element, 'pm'));
  addLifecycle(ctx);
  return machineProps;
}

function addFeatures(ctx: DeviceContext, features: XmlElement | undefined, machineProps: string[]): void {
  if (!features || !childElement(features, 'acpi')) machineProps.push('acpi=off');
  if (!features) return;
  for (const f of childElements(features)) {
    if (f.name === 'acpi' || f.name === 'pae') {
      refuseOtherAttributes(f, []);
    } else if (f.name === 'apic') {
      refuseOtherAttributes(f, []);
    } else if (f.name === 'vmport') {
      const state = attrValue(f, 'state');
      if (state !== 'on' && state !== 'off') throw notHonoured(f, features);
      machineProps.push(`vmport=${state}`);
    } else {
      throw unsupportedConfig(`<features><${f.name}> is not supported by snapvirt`);
    }
  }
}

function addClock(ctx: DeviceContext, clock: XmlElement | undefined, machineProps: string[]): void {
  if (!clock) return;
  refuseOtherAttributes(clock, ['offset']);
  refuseOtherChildren(clock, ['timer']);
  const offset = attrValue(clock, 'offset') ?? 'utc';
  if (offset !== 'utc' && offset !== 'localtime') throw unsupportedConfig(`<clock offset='${offset}'> is not supported by snapvirt`);
  let rtc = `base=${offset}`;
  for (const timer of childElements(clock, 'timer')) {
    refuseOtherAttributes(timer, ['name', 'tickpolicy', 'present']);
    const name = attrValue(timer, 'name');
    const tick = attrValue(timer, 'tickpolicy');
    const present = attrValue(timer, 'present');
    if (name === 'rtc' && present !== 'no' && (tick === undefined || tick === 'catchup' || tick === 'delay')) {
      if (tick === 'catchup') rtc += ',driftfix=slew';
    } else if (name === 'pit' && present !== 'no' && (tick === undefined || tick === 'delay' || tick === 'catchup' || tick === 'discard')) {
      if (tick !== undefined) ctx.args.push('-global', `kvm-pit.lost_tick_policy=${tick === 'catchup' ? 'slew' : tick}`);
    } else if (name === 'hpet' && tick === undefined) {
      if (present === 'no') machineProps.push('hpet=off');
    } else {
      throw unsupportedConfig(`<timer name='${name ?? ''}'${tick ? ` tickpolicy='${tick}'` : ''}${present ? ` present='${present}'` : ''}> is not supported by snapvirt`);
    }
  }
  ctx.args.push('-rtc', rtc);
}

function addPowerManagement(ctx: DeviceContext, pm: XmlElement | undefined): void {
  if (!pm) return;
  const device = ctx.isQ35 ? 'ICH9-LPC' : 'PIIX4_PM';
  for (const state of childElements(pm)) {
    const which = state.name === 'suspend-to-mem' ? 's3' : state.name === 'suspend-to-disk' ? 's4' : undefined;
    const enabled = attrValue(state, 'enabled');
    if (which === undefined || (enabled !== 'yes' && enabled !== 'no')) throw notHonoured(state, pm);
    ctx.args.push('-global', `${device}.disable_${which}=${enabled === 'yes' ? 0 : 1}`);
  }
}

/** QEMU can only stop on a reboot or restart; other actions need a manager watching it. */
function addLifecycle(ctx: DeviceContext): void {
  const action = (name: string): string | undefined => {
    const el = childElement(ctx.def.element, name);
    return el ? textContent(el).trim() : undefined;
  };
  const reboot = action('on_reboot') ?? 'restart';
  const poweroff = action('on_poweroff') ?? 'destroy';
  const crash = action('on_crash') ?? 'destroy';
  if (reboot === 'destroy') ctx.args.push('-no-reboot');
  else if (reboot !== 'restart') throw unsupportedConfig(`<on_reboot>${reboot}</on_reboot> is not supported by snapvirt`);
  if (poweroff !== 'destroy') throw unsupportedConfig(`<on_poweroff>${poweroff}</on_poweroff> is not supported by snapvirt`);
  if (crash !== 'destroy') throw unsupportedConfig(`<on_crash>${crash}</on_crash> is not supported by snapvirt`);
}
