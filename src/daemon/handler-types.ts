/**
 * The shape of the daemon's procedure handlers: one per procedure of a program's generated
 * table, typed by that procedure's args and ret codecs, so a handler cannot return what the
 * wire would not carry.
 */
import type { qemuProcedures } from '../rpc/generated/qemu-protocol.js';
import type { remoteProcedures } from '../rpc/generated/remote-protocol.js';
import type { snapvirtProcedures } from '../rpc/generated/snapvirt-protocol.js';
import type { ArgsOf, RetOf } from '../rpc/procedure-spec.js';
import type { ClientSession } from './client-session.js';

export type Handler<P> = (session: ClientSession, args: ArgsOf<P>) => Promise<RetOf<P>>;

type RemoteTable = typeof remoteProcedures;
type QemuTable = typeof qemuProcedures;
type SnapvirtTable = typeof snapvirtProcedures;

/** Handlers for (some of) the REMOTE program's procedures. */
export type RemoteHandlers = { [K in keyof RemoteTable]?: Handler<RemoteTable[K]> };
/** Handlers for the QEMU program's procedures. */
export type QemuHandlers = { [K in keyof QemuTable]?: Handler<QemuTable[K]> };
/** Handlers for snapvirt's own program's procedures. */
export type SnapvirtHandlers = { [K in keyof SnapvirtTable]?: Handler<SnapvirtTable[K]> };
