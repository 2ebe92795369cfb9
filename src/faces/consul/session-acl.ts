import type { FastifyRequest } from "fastify";
import type { Session } from "../../core/consul/session-record.ts";
import type { SessionService } from "../../core/consul/session-service.ts";
import { NotFoundError } from "../../core/errors/not-found-error.ts";
import { aclOf } from "../../http/request-principal.ts";
import { requireAcl } from "./require-acl.ts";

// Sessions under Berth's (legacy) Consul ACLs, as Consul 0.8–1.3 enforces them: `session` rules on
// the name of the session's node. Creating, destroying and renewing a session take session write
// on its node; reads drop the sessions the token may not read, as if they did not exist.

/** Consul's answer for a session that does not exist. */
export function sessionNotFound(id: string): NotFoundError {
  return new NotFoundError(`Session id '${id}' not found`);
}

/** Creating a session on the node takes session write on it. */
export function requireSessionWrite(request: FastifyRequest, node: string): void {
  requireAcl(request, (acl) => acl.sessionWrite(node));
}

/**
 * The session, once the token may write its node's sessions (403 otherwise); undefined when it
 * does not exist. Only a management token may end a session that does not exist (idempotently,
 * as with ACLs off): any other token is told it does not exist, since no node vouches for it.
 */
export async function writableSession(
  request: FastifyRequest,
  sessions: SessionService,
  dc: string,
  id: string,
): Promise<Session | undefined> {
  const { value: session } = await sessions.info(dc, id).run();
  if (!session) {
    if (aclOf(request).management) return undefined;
    throw sessionNotFound(id);
  }
  requireSessionWrite(request, session.node);
  return session;
}

/** The sessions the token may read: those of nodes its session rules let it read. */
export function readableSessions(request: FastifyRequest, sessions: readonly Session[]): Session[] {
  const acl = aclOf(request);
  return sessions.filter((session) => acl.sessionRead(session.node));
}
