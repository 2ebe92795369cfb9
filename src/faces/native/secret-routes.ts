import type { FastifyInstance } from "fastify";
import type { SecretService } from "../../core/secrets/secret-service.ts";
import { parseInput } from "../../core/validation/parse-input.ts";
import { principalOf } from "../../http/request-principal.ts";
import { gridItemParamsSchema, gridParamsSchema } from "./route-params.ts";

/** The grid's vault: members list names, write values and read one value at a time. */
export function registerSecretRoutes(app: FastifyInstance, secrets: SecretService): void {
  app.get("/v1/grids/:id/secrets", async (request) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    return { secrets: await secrets.list(principalOf(request), id) };
  });

  app.post("/v1/grids/:id/secrets", async (request, reply) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    return reply.code(201).send(await secrets.create(principalOf(request), id, request.body));
  });

  app.get("/v1/secrets/:grid/:name", async (request) => {
    const { grid, name } = parseInput(gridItemParamsSchema, request.params);
    return secrets.read(principalOf(request), grid, name);
  });

  // `{"value": "…", "upsert": true}` creates the secret when it does not exist.
  app.put("/v1/secrets/:grid/:name", async (request) => {
    const { grid, name } = parseInput(gridItemParamsSchema, request.params);
    return secrets.update(principalOf(request), grid, name, request.body);
  });

  app.delete("/v1/secrets/:grid/:name", async (request) => {
    const { grid, name } = parseInput(gridItemParamsSchema, request.params);
    await secrets.remove(principalOf(request), grid, name);
    return {};
  });
}
