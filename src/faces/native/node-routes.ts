import type { FastifyInstance } from "fastify";
import type { NodeService } from "../../core/nodes/node-service.ts";
import { parseInput } from "../../core/validation/parse-input.ts";
import { principalOf } from "../../http/request-principal.ts";
import { nodeJson } from "./node-json.ts";
import { gridItemParamsSchema, gridParamsSchema } from "./route-params.ts";

/** Nodes (spec "Nodes"): members of the grid read them; its grid_admins (and master_admin) relabel and delete. */
export function registerNodeRoutes(app: FastifyInstance, nodes: NodeService): void {
  app.get("/v1/grids/:id/nodes", async (request) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    return { nodes: (await nodes.list(principalOf(request), id)).map(nodeJson) };
  });

  app.get("/v1/nodes/:grid/:name", async (request) => {
    const { grid, name } = parseInput(gridItemParamsSchema, request.params);
    return nodeJson(await nodes.show(principalOf(request), grid, name));
  });

  app.put("/v1/nodes/:grid/:name", async (request) => {
    const { grid, name } = parseInput(gridItemParamsSchema, request.params);
    return nodeJson(await nodes.update(principalOf(request), grid, name, request.body));
  });

  // Unregisters the node; the host and its containers stay as they are.
  app.delete("/v1/nodes/:grid/:name", async (request) => {
    const { grid, name } = parseInput(gridItemParamsSchema, request.params);
    await nodes.remove(principalOf(request), grid, name);
    return {};
  });
}
