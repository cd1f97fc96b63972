/**
 * The everyday lifecycle calls beyond start and stop, as one optional part of a driver
 * (a driver without them says so: VIR_ERR_NO_SUPPORT from the API): virDomainReboot,
 * virDomainReset, virDomainSetAutostart/GetAutostart and virDomainRename.
 */
import type { DomainRef } from './driver.js';

/** The lifecycle functions of a driver. */
export interface DomainLifecycleDriver {
  /** virDomainReboot (flags: virDomainRebootFlagValues). */
  reboot(dom: DomainRef, flags: number): Promise<void>;
  /** virDomainReset. */
  reset(dom: DomainRef, flags: number): Promise<void>;
  /** virDomainSetAutostart. */
  setAutostart(dom: DomainRef, autostart: boolean): Promise<void>;
  /** virDomainGetAutostart. */
  getAutostart(dom: DomainRef): Promise<boolean>;
  /** virDomainRename; resolves with the renamed domain's identity. */
  rename(dom: DomainRef, newName: string, flags: number): Promise<DomainRef>;
}
