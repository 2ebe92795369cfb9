import type { FastifyInstance } from "fastify";
import type { GridService } from "../../core/grids/grid-service.ts";
import { parseInput } from "../../core/validation/parse-input.ts";
import { principalOf } from "../../http/request-principal.ts";
import { gridJson } from "./grid-json.ts";
import { gridParamsSchema } from "./route-params.ts";

/** `/v1/grids`: create and remove (master_admin), change (grid_admin), read (members). */
export function registerGridRoutes(app: FastifyInstance, grids: GridService): void {
  app.get("/v1/grids", async (request) => ({ grids: (await grids.visibleTo(principalOf(request))).map(gridJson) }));

  app.post("/v1/grids", async (request, reply) =>
    reply.code(201).send(gridJson(await grids.create(principalOf(request), request.body))),
  );

  app.get("/v1/grids/:id", async (request) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    return gridJson(await grids.show(principalOf(request), id));
  });

  app.put("/v1/grids/:id", async (request) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    return gridJson(await grids.update(principalOf(request), id, request.body));
  });

  app.delete("/v1/grids/:id", async (request) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    await grids.remove(principalOf(request), id);
    return {};
  });

  // A new join token; agents that already joined keep working with their node tokens.
  app.post("/v1/grids/:id/token", async (request) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    return gridJson(await grids.rotateToken(principalOf(request), id));
  });
}
