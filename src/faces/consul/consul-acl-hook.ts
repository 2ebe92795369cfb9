import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AclService } from "../../core/acl/acl-service.ts";

const BEARER = /^bearer\s+(\S+)\s*$/i;

/**
 * Resolves every Consul request's token into `request.acl` (and `request.principal` for a Berth
 * user's token) before the body is read. Routes decide what the ACL must allow; a token that is
 * neither an ACL token nor a valid Berth token is refused with 403 "ACL not found", except on
 * public routes, which serve it as anonymous.
 */
export function installConsulAclHook(app: FastifyInstance, acls: AclService): void {
  app.addHook("onRequest", async (request) => {
    const token = consulTokenOf(request);
    const resolution = await acls.resolve(token).catch((error: unknown) => {
      if (request.routeOptions.config.public === true) return acls.resolve("");
      throw error;
    });
    request.acl = resolution.acl;
    if (resolution.principal) request.principal = resolution.principal;
  });
}

/** As Consul reads it: `?token=`, else X-Consul-Token, else `Authorization: Bearer`; "" for none. */
export function consulTokenOf(request: FastifyRequest): string {
  const query = (request.query as Record<string, unknown> | undefined)?.token;
  const fromQuery = Array.isArray(query) ? query[0] : query;
  if (typeof fromQuery === "string" && fromQuery !== "") return fromQuery;
  const header = request.headers["x-consul-token"];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  if (fromHeader !== undefined && fromHeader !== "") return fromHeader;
  return BEARER.exec(request.headers.authorization ?? "")?.[1] ?? "";
}
