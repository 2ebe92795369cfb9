import type { FastifyInstance } from "fastify";
import { configValuesSchema } from "../../core/config/config-schema.ts";
import type { ConfigService } from "../../core/config/config-service.ts";
import { parseInput } from "../../core/validation/parse-input.ts";

/** `/v1/config`: the master configuration, a flat object of string keys and values. */
export function registerConfigRoutes(app: FastifyInstance, config: ConfigService): void {
  app.get("/v1/config", async () => config.get());

  // Upsert: the given keys change, the others stay.
  app.patch("/v1/config", async (request) => config.update(parseInput(configValuesSchema, request.body)));

  // Replace: the body becomes the whole configuration.
  app.put("/v1/config", async (request) => config.replace(parseInput(configValuesSchema, request.body)));
}
