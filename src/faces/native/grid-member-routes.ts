import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { GridMemberService } from "../../core/grids/grid-member-service.ts";
import { parseInput } from "../../core/validation/parse-input.ts";
import { principalOf } from "../../http/request-principal.ts";
import { gridParamsSchema } from "./route-params.ts";

const memberParamsSchema = z.object({ id: z.string(), username: z.string() });

/** `/v1/grids/:id/users` (as Kontena's CLI uses it): who belongs to a grid; master_admin or grid_admin. */
export function registerGridMemberRoutes(app: FastifyInstance, members: GridMemberService): void {
  app.get("/v1/grids/:id/users", async (request) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    return { users: await members.list(principalOf(request), id) };
  });

  // Adds a user (by username or email) or changes their role: `{"username": "x", "role": "grid_admin"}`.
  app.post("/v1/grids/:id/users", async (request, reply) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    return reply.code(201).send(await members.add(principalOf(request), id, request.body));
  });

  app.delete("/v1/grids/:id/users/:username", async (request) => {
    const { id, username } = parseInput(memberParamsSchema, request.params);
    await members.remove(principalOf(request), id, username);
    return {};
  });
}
