/**
 * The remote driver's lifecycle calls (virDomainReboot, virDomainReset,
 * virDomainSetAutostart, virDomainGetAutostart, virDomainRename) over the REMOTE program.
 */
import { remoteProcedures as P } from '../../rpc/generated/remote-protocol.js';
import { REMOTE } from '../../rpc/programs.js';
import type { DomainLifecycleDriver } from '../domain-lifecycle-driver.js';
import type { RpcClient } from './rpc-client.js';
import { wireDomain } from './wire-refs.js';

export function remoteLifecycleDriver(call: RpcClient['call']): DomainLifecycleDriver {
  return {
    async reboot(dom, flags) { await call(REMOTE, P.REMOTE_PROC_DOMAIN_REBOOT, { dom: wireDomain(dom), flags }); },
    async reset(dom, flags) { await call(REMOTE, P.REMOTE_PROC_DOMAIN_RESET, { dom: wireDomain(dom), flags }); },
    async setAutostart(dom, autostart) {
      await call(REMOTE, P.REMOTE_PROC_DOMAIN_SET_AUTOSTART, { dom: wireDomain(dom), autostart: autostart ? 1 : 0 });
    },
    async getAutostart(dom) {
      return (await call(REMOTE, P.REMOTE_PROC_DOMAIN_GET_AUTOSTART, { dom: wireDomain(dom) })).autostart !== 0;
    },
    // The reply carries no handle: the domain keeps its UUID and id and takes the new name (remoteDomainRename).
    async rename(dom, newName, flags) {
      await call(REMOTE, P.REMOTE_PROC_DOMAIN_RENAME, { dom: wireDomain(dom), new_name: newName, flags });
      return { ...dom, name: newName };
    },
  };
}
