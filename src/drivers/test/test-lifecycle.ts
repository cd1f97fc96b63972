/**
 * The test driver's lifecycle table, as libvirt 9.0's test driver has it: reboot follows
 * the definition's `<on_reboot>` (testDomainActionSetState), reset only checks that the
 * domain runs, autostart is a flag (transient domains included), and rename takes a
 * persistent, shut-off domain to a free name. Nothing here touches a disk: the test driver
 * is in memory.
 */
import { virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import { DomainState, RunningReason, ShutoffReason } from '../../api/flags.js';
import { childElement, textContent } from '../../conf/xml-tree.js';
import type { DomainLifecycleDriver } from '../domain-lifecycle-driver.js';
import type { DomainRef } from '../driver.js';
import { checkFlags } from './check-flags.js';
import type { TestDomainObj } from './test-domain-obj.js';

/** virDomainRebootFlagValues: DEFAULT, ACPI_POWER_BTN, GUEST_AGENT, INITCTL, SIGNAL, PARAVIRT. */
const REBOOT_FLAGS_ALL = 0x1f;

/** What the lifecycle table needs of the driver: its domains, and how one stops. */
export interface TestLifecycleHost {
  /** The domain behind a handle, or libvirt's error. */
  objOf(dom: DomainRef): TestDomainObj;
  /** Every domain of the connection. */
  domains(): readonly TestDomainObj[];
  /** Shuts a domain off with `reason` (a transient one disappears). */
  stop(vm: TestDomainObj, reason: number): void;
}

/**
 * testDomainActionSetState: what the guest asking to power off or reboot leads to, by the
 * definition's `<on_poweroff>`/`<on_reboot>` action. Returns false when the domain is now
 * shut off (the caller stops it), true when it runs on (restart and rename-restart boot it
 * again).
 */
export function runsOnAfter(vm: TestDomainObj, lifecycleElement: 'on_poweroff' | 'on_reboot'): boolean {
  const el = childElement(vm.def.element, lifecycleElement);
  const action = el ? textContent(el).trim() : lifecycleElement === 'on_reboot' ? 'restart' : 'destroy';
  if (action === 'restart' || action === 'rename-restart') {
    vm.setState(DomainState.RUNNING, RunningReason.BOOTED);
    return true;
  }
  return false;
}

function requireActive(vm: TestDomainObj): void {
  // virDomainObjCheckActive
  if (!vm.isActive()) throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.DOMAIN, 'domain is not running');
}

/** The lifecycle table over the driver's domains. */
export function testLifecycleDriver(host: TestLifecycleHost): DomainLifecycleDriver {
  return {
    async reboot(dom, flags) {
      checkFlags(flags, REBOOT_FLAGS_ALL, 'testDomainReboot');
      const vm = host.objOf(dom);
      requireActive(vm);
      if (!runsOnAfter(vm, 'on_reboot')) host.stop(vm, ShutoffReason.SHUTDOWN);
    },
    async reset(dom, flags) {
      checkFlags(flags, 0, 'testDomainReset');
      requireActive(host.objOf(dom));
    },
    async setAutostart(dom, autostart) {
      host.objOf(dom).autostart = autostart;
    },
    async getAutostart(dom) {
      return host.objOf(dom).autostart;
    },
    async rename(dom, newName, flags) {
      checkFlags(flags, 0, 'testDomainRename');
      const vm = host.objOf(dom);
      const invalid = (message: string) => virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.TEST, message);
      if (vm.isActive()) throw invalid('cannot rename active domain');
      if (!vm.persistent) throw invalid('cannot rename a transient domain');
      if (vm.state !== DomainState.SHUTOFF) throw invalid('domain has to be shutoff before renaming');
      // virDomainObjListRename's checks, then the test driver's own.
      if (newName === vm.name) throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.DOMAIN, "Can't rename domain to itself");
      if (host.domains().some((d) => d.name === newName)) {
        throw virError(VirErrorCode.OPERATION_INVALID, VirErrorDomain.DOMAIN, `domain with name '${newName}' already exists`);
      }
      if (newName.includes('/')) throw virError(VirErrorCode.XML_ERROR, VirErrorDomain.TEST, `name ${newName} cannot contain '/'`);
      vm.def.name = newName;
      return vm.ref();
    },
  };
}
