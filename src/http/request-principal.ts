import type { FastifyRequest } from "fastify";
import type { Acl } from "../core/acl/acl.ts";
import type { Principal } from "../core/auth/principal.ts";
import { UnauthorizedError } from "../core/errors/unauthorized-error.ts";

// Each face's auth hook (onRequest/preHandler in the face's own plugin scope) authenticates the
// caller its own way and attaches the result here; routes read it through these helpers.
// Public routes declare `config: { public: true }` and get no principal unless one was offered.
declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated Berth user, set by the face's auth hook. */
    principal?: Principal;
    /** The Consul ACL in force for this request, set by the Consul face's auth hook. */
    acl?: Acl;
  }
  interface FastifyContextConfig {
    /** The route needs no authentication (only what the specs make public). */
    public?: boolean;
  }
}

/** The caller of a route that requires authentication; the auth hook guarantees it is there. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthorizedError();
  return request.principal;
}

export function aclOf(request: FastifyRequest): Acl {
  if (!request.acl) throw new UnauthorizedError();
  return request.acl;
}
