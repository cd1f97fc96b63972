/**
 * The one error the RPC layer raises for bytes that do not decode (or values that do not
 * encode) as the protocol says: a truncated packet, a length past its limit, an unknown
 * enum value. The daemon closes the connection that sent them and logs `message`.
 */
export class XdrError extends Error {
  /** Always "XdrError". */
  override readonly name = 'XdrError';
}
