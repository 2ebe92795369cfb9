import type { FastifyInstance } from "fastify";
import type { ConfigService } from "../../core/config/config-service.ts";
import { principalOf } from "../../http/request-principal.ts";

/** `/v1/config`: the master configuration, a flat object of string keys and values; master_admin only. */
export function registerConfigRoutes(app: FastifyInstance, config: ConfigService): void {
  app.get("/v1/config", async (request) => config.read(principalOf(request)));

  // Upsert: the given keys change, the others stay.
  app.patch("/v1/config", async (request) => config.update(principalOf(request), request.body));

  // Replace: the body becomes the whole configuration.
  app.put("/v1/config", async (request) => config.replace(principalOf(request), request.body));
}
