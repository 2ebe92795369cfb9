import type { FastifyInstance } from "fastify";
import type { RegistryService } from "../../core/registries/registry-service.ts";
import { parseInput } from "../../core/validation/parse-input.ts";
import { principalOf } from "../../http/request-principal.ts";
import { gridItemParamsSchema, gridParamsSchema } from "./route-params.ts";

/** A grid's external registries; passwords go in and never come out. */
export function registerRegistryRoutes(app: FastifyInstance, registries: RegistryService): void {
  app.get("/v1/grids/:id/external_registries", async (request) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    return { external_registries: await registries.list(principalOf(request), id) };
  });

  app.post("/v1/grids/:id/external_registries", async (request, reply) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    return reply.code(201).send(await registries.create(principalOf(request), id, request.body));
  });

  // The spec's example path (its "Endpoint" line repeats the list's path by mistake).
  app.delete("/v1/external_registries/:grid/:name", async (request) => {
    const { grid, name } = parseInput(gridItemParamsSchema, request.params);
    await registries.remove(principalOf(request), grid, name);
    return {};
  });
}
