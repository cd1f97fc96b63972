/**
 * Opening a remote connection as libvirt's doRemoteOpen does: the transport (unix socket
 * or ssh), then AUTH_LIST (snapvirt's client speaks auth "none" only), whether the daemon
 * speaks keepalive (CONNECT_SUPPORTS_FEATURE), CONNECT_OPEN with the name the URI
 * reduces to, the identity the driver table answers without a call (type, version, host
 * name), and whether the daemon takes event registrations per callback.
 */
import { isVirError, virError, VirErrorCode, VirErrorDomain } from '../../api/errors.js';
import { RemoteAuthType, remoteProcedures as P } from '../../rpc/generated/remote-protocol.js';
import { REMOTE } from '../../rpc/programs.js';
import type { DriverIdentity } from '../driver.js';
import { parseRemoteURI, type RemoteTarget } from './remote-uri.js';
import { RpcClient } from './rpc-client.js';
import { socketPathFor } from './socket-path.js';
import { connectSsh } from './ssh-transport.js';
import { connectUnix } from './unix-transport.js';

/** virDrvFeature VIR_DRV_FEATURE_PROGRAM_KEEPALIVE, VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK. */
const FEATURE_PROGRAM_KEEPALIVE = 10;
const FEATURE_REMOTE_EVENT_CALLBACK = 14;
/** virConnectFlags VIR_CONNECT_RO. */
const VIR_CONNECT_RO = 1;

export interface OpenedRemote {
  client: RpcClient;
  identity: DriverIdentity;
  target: RemoteTarget;
  /** Whether the daemon takes per-callback event registrations (CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY). */
  eventCallbacks: boolean;
}

/** Refuses an auth scheme other than none, as libvirt's client does for one it cannot do. */
async function authenticate(client: RpcClient): Promise<void> {
  let types: number[];
  try {
    ({ types } = await client.call(REMOTE, P.REMOTE_PROC_AUTH_LIST, null));
  } catch (err) {
    // A daemon older than AUTH_LIST needs no authentication (remoteAuthenticate).
    if (isVirError(err, VirErrorCode.NO_SUPPORT)) return;
    throw err;
  }
  if (types.length === 0 || types.includes(RemoteAuthType.REMOTE_AUTH_NONE)) return;
  const name = types[0] === RemoteAuthType.REMOTE_AUTH_SASL ? 'sasl' : types[0] === RemoteAuthType.REMOTE_AUTH_POLKIT ? 'polkit' : String(types[0]);
  throw virError(VirErrorCode.AUTH_FAILED, VirErrorDomain.REMOTE, `unsupported authentication type ${name} (snapvirt's client speaks only none)`);
}

/** Opens `rawUri` (a `driver+transport://` URI) on its daemon. */
export async function openRemote(rawUri: string, url: URL, readOnly: boolean): Promise<OpenedRemote> {
  const target = parseRemoteURI(rawUri, url);
  const socket = socketPathFor(target, readOnly);
  const wire = target.transport === 'ssh' ? await connectSsh(target, socket) : await connectUnix(socket);
  const client = new RpcClient(wire);
  try {
    await authenticate(client);
    const { supported } = await client.call(REMOTE, P.REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, { feature: FEATURE_PROGRAM_KEEPALIVE });
    await client.call(REMOTE, P.REMOTE_PROC_CONNECT_OPEN, { name: target.name, flags: readOnly ? VIR_CONNECT_RO : 0 });
    if (supported) client.startKeepalive();
    const [type, version, hostname, events] = await Promise.all([
      client.call(REMOTE, P.REMOTE_PROC_CONNECT_GET_TYPE, null),
      client.call(REMOTE, P.REMOTE_PROC_CONNECT_GET_VERSION, null),
      client.call(REMOTE, P.REMOTE_PROC_CONNECT_GET_HOSTNAME, null),
      client.call(REMOTE, P.REMOTE_PROC_CONNECT_SUPPORTS_FEATURE, { feature: FEATURE_REMOTE_EVENT_CALLBACK }),
    ]);
    // virConnectGetURI answers the URI as the caller gave it, transport and all (libvirt keeps conn->uri).
    const identity: DriverIdentity = { type: type.type, hypervisorVersion: Number(version.hv_ver), uri: rawUri, hostname: hostname.hostname };
    return { client, identity, target, eventCallbacks: events.supported !== 0 };
  } catch (err) {
    client.close();
    throw err;
  }
}
