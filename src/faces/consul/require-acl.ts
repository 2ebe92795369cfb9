import type { FastifyRequest } from "fastify";
import type { Acl } from "../../core/acl/acl.ts";
import { ForbiddenError } from "../../core/errors/forbidden-error.ts";
import { aclOf } from "../../http/request-principal.ts";

/** Consul's body for a request its token may not make. */
export const PERMISSION_DENIED = "Permission denied";

/**
 * Throws 403 "Permission denied" unless the request's ACL passes the check, e.g.
 * `requireAcl(request, (acl) => acl.keyWrite(key))`.
 */
export function requireAcl(request: FastifyRequest, check: (acl: Acl) => boolean): void {
  if (!check(aclOf(request))) throw new ForbiddenError(PERMISSION_DENIED);
}
