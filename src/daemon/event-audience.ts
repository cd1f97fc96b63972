/**
 * Who hears a change a client made: every client open on the same URI, since they share
 * the driver's state on this host; for test:/// URIs, whose state each connection holds
 * alone, only the client that made it. Domain lifecycle events and snapvirt's snapshot
 * events go by the same rule.
 */
import type { ClientSession } from './client-session.js';

export function* eventAudience(origin: ClientSession, sessions: Iterable<ClientSession>): Iterable<ClientSession> {
  const uri = origin.conn?.getURI();
  if (uri === undefined) return;
  const shared = !uri.startsWith('test:');
  for (const session of sessions) {
    if (session === origin || (shared && session.conn?.getURI() === uri)) yield session;
  }
}
