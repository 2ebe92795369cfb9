import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { OperationRecord } from "../../core/operations/operation-record.ts";
import type { OperationService } from "../../core/operations/operation-service.ts";
import { deployResultsOf } from "../../core/services/deploy-results.ts";
import type { ServiceService } from "../../core/services/service-service.ts";
import type { StoredStack } from "../../core/stacks/stack-record.ts";
import type { StackService } from "../../core/stacks/stack-service.ts";
import { parseInput } from "../../core/validation/parse-input.ts";
import { principalOf } from "../../http/request-principal.ts";
import { stackDeployJson } from "./deploy-json.ts";
import { gridItemParamsSchema, gridParamsSchema } from "./route-params.ts";
import { replyWithRemoval } from "./service-routes.ts";
import { stackJson } from "./stack-json.ts";

/** Content types of a stack file (YAML) body; anything else is JSON. */
export const STACK_FILE_TYPES = ["application/yaml", "text/yaml", "application/x-yaml"];

const createQuerySchema = z.object({ name: z.string().optional() });

/** The body as a stack file's text, when it was sent as one. */
function stackFileOf(request: FastifyRequest): string | undefined {
  const type = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return STACK_FILE_TYPES.includes(type) ? String(request.body ?? "") : undefined;
}

/** Stacks (spec "Stacks"): JSON or a YAML stack file in; members of the grid manage them. */
export function registerStackRoutes(
  app: FastifyInstance,
  stacks: StackService,
  services: ServiceService,
  operations: OperationService,
) {
  const render = async (stack: StoredStack) =>
    stackJson(stack, await stacks.services(stack), await services.gridInstances(stack.grid));

  app.get("/v1/grids/:id/stacks", async (request) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    const listed = await stacks.list(principalOf(request), id);
    const instances = await services.gridInstances(id);
    return {
      stacks: await Promise.all(listed.map(async (stack) => stackJson(stack, await stacks.services(stack), instances))),
    };
  });

  // `?name=` names the stack instead of the name part of the file's `stack`.
  app.post("/v1/grids/:id/stacks", async (request, reply) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    const principal = principalOf(request);
    const file = stackFileOf(request);
    const stack =
      file === undefined
        ? await stacks.create(principal, id, request.body)
        : await stacks.createFromFile(principal, id, file, parseInput(createQuerySchema, request.query).name);
    return reply.code(201).send(await render(stack));
  });

  app.get("/v1/stacks/:grid/:name", async (request) => {
    const { grid, name } = parseInput(gridItemParamsSchema, request.params);
    return render(await stacks.get(principalOf(request), grid, name));
  });

  // Replaces the definition; services it no longer lists go at the next stack deploy.
  app.put("/v1/stacks/:grid/:name", async (request) => {
    const { grid, name } = parseInput(gridItemParamsSchema, request.params);
    const principal = principalOf(request);
    const file = stackFileOf(request);
    const stack =
      file === undefined
        ? await stacks.update(principal, grid, name, request.body)
        : await stacks.updateFromFile(principal, grid, name, file);
    return render(stack);
  });

  app.delete("/v1/stacks/:grid/:name", async (request, reply) => {
    const { grid, name } = parseInput(gridItemParamsSchema, request.params);
    const submitted = await stacks.remove(principalOf(request), grid, name);
    return replyWithRemoval(reply, operations, submitted, (operation) =>
      stackDeployStatus(operations, `${grid}/${name}`, operation),
    );
  });

  app.post("/v1/stacks/:grid/:name/deploy", async (request) => {
    const { grid, name } = parseInput(gridItemParamsSchema, request.params);
    const submitted = await stacks.deploy(principalOf(request), grid, name);
    return stackDeployStatus(operations, `${grid}/${name}`, submitted);
  });
}

/** A stack operation with each service's deploy as far as it got (its result lines). */
async function stackDeployStatus(operations: OperationService, stackId: string, operation: OperationRecord) {
  return stackDeployJson(stackId, operation, deployResultsOf(await operations.output(operation.id, "result")));
}
