import type { FastifyInstance } from "fastify";
import { berthVersion } from "../../config/berth-version.ts";
import type { MasterIdentityService } from "../../core/identity/master-identity-service.ts";

/** `GET /info`: public, so that clients can learn how to authenticate. */
export function registerInfoRoutes(app: FastifyInstance, identity: MasterIdentityService): void {
  app.get("/info", { config: { public: true } }, async (request) => ({
    name: "Berth Director",
    uuid: identity.identity().uuid,
    version: berthVersion,
    // The caller when valid credentials came along (the auth hook ignores invalid ones here).
    user: request.principal?.user.username ?? null,
    cpi: "docker",
    user_authentication: { type: "basic", options: {} },
  }));
}
