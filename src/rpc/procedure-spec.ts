/**
 * One procedure of an RPC program as the generated tables describe it: its number, its
 * libvirt name, and the codecs of its call arguments, its reply and (for an event) its
 * message. A missing payload is XDR void.
 */
import { xdrVoid, type Codec } from './xdr-codec.js';

export interface ProcedureSpec<A = unknown, R = unknown, M = unknown> {
  readonly num: number;
  readonly name: string;
  readonly args: Codec<A>;
  readonly ret: Codec<R>;
  readonly msg: Codec<M>;
}

/** A call: `args` in, `ret` out. */
export function procedure<A, R>(num: number, name: string, args: Codec<A>, ret: Codec<R>): ProcedureSpec<A, R, null> {
  return { num, name, args, ret, msg: xdrVoid };
}

/** An event the server sends (VIR_NET_MESSAGE) with payload `msg`. */
export function eventProcedure<M>(num: number, name: string, msg: Codec<M>): ProcedureSpec<null, null, M> {
  return { num, name, args: xdrVoid, ret: xdrVoid, msg };
}

/** The argument type of a procedure spec. */
export type ArgsOf<P> = P extends ProcedureSpec<infer A, unknown, unknown> ? A : never;
/** The reply type of a procedure spec. */
export type RetOf<P> = P extends ProcedureSpec<unknown, infer R, unknown> ? R : never;
/** The event message type of a procedure spec. */
export type MsgOf<P> = P extends ProcedureSpec<unknown, unknown, infer M> ? M : never;
