import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AclService } from "../../core/acl/acl-service.ts";
import { ACL_TOKENS_PREFIX, type AclToken } from "../../core/acl/acl-token-record.ts";
import type { AclTokenService } from "../../core/acl/acl-token-service.ts";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";
import { NotFoundError } from "../../core/errors/not-found-error.ts";
import { UnauthorizedError } from "../../core/errors/unauthorized-error.ts";
import { parseAclTokenBody } from "./acl-token-body.ts";
import { type ConsulReadServices, consulBlockingRead } from "./consul-blocking-read.ts";
import { requireAcl } from "./require-acl.ts";

export interface AclRouteServices extends ConsulReadServices {
  readonly acl: AclService;
  readonly aclTokens: AclTokenService;
}

/** A token as Consul's legacy ACL endpoints show it. */
interface ConsulAclJson {
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
  readonly ID: string;
  readonly Name: string;
  readonly Type: string;
  readonly Rules: string;
}

/**
 * `/v1/acl`: legacy Consul ACL tokens. Everything but info takes a management token; info is
 * open, as in Consul, because knowing a token's ID is holding it. Bodies come raw (acceptRawBodies).
 */
export function registerAclRoutes(app: FastifyInstance, services: AclRouteServices): void {
  const { acl, aclTokens } = services;

  /** ACLs off answer 401 before anything else, as Consul does. */
  const assertEnabled = (): void => {
    if (!acl.enabled) throw new UnauthorizedError("ACL support disabled");
  };
  const requireManagement = (request: FastifyRequest): void => {
    assertEnabled();
    requireAcl(request, (requestAcl) => requestAcl.management);
  };

  app.put("/v1/acl/create", async (request) => {
    requireManagement(request);
    return { ID: await aclTokens.set(parseAclTokenBody(request.body)) };
  });

  app.put("/v1/acl/update", async (request) => {
    requireManagement(request);
    const input = parseAclTokenBody(request.body);
    if (input.id === undefined) throw new BadRequestError("ACL ID must be set");
    return { ID: await aclTokens.set(input) };
  });

  app.put<{ Params: { id: string } }>("/v1/acl/destroy/:id", async (request) => {
    requireManagement(request);
    await aclTokens.destroy(idParam(request.params.id));
    return true;
  });

  app.put<{ Params: { id: string } }>("/v1/acl/clone/:id", async (request) => {
    requireManagement(request);
    const id = await aclTokens.clone(idParam(request.params.id));
    if (id === undefined) throw new NotFoundError("Target ACL not found");
    return { ID: id };
  });

  app.get<{ Params: { id: string } }>("/v1/acl/info/:id", { config: { public: true } }, async (request, reply) => {
    assertEnabled();
    const id = idParam(request.params.id);
    // The spec's answer for an unknown token is null, not an empty list.
    const token = await consulBlockingRead(request, reply, services, {
      prefixes: [ACL_TOKENS_PREFIX],
      run: () => aclTokens.get(id),
    });
    return reply.type("application/json").send(JSON.stringify(token ? [toConsulJson(token)] : null));
  });

  app.get("/v1/acl/list", async (request, reply) => {
    requireManagement(request);
    const tokens = await consulBlockingRead(request, reply, services, {
      prefixes: [ACL_TOKENS_PREFIX],
      run: () => aclTokens.list(),
    });
    return tokens.map(toConsulJson);
  });
}

function idParam(id: string): string {
  if (id === "") throw new BadRequestError("Missing ACL");
  return id;
}

function toConsulJson(token: AclToken): ConsulAclJson {
  return {
    CreateIndex: token.createIndex,
    ModifyIndex: token.modifyIndex,
    ID: token.id,
    Name: token.name,
    Type: token.type,
    Rules: token.rules,
  };
}
