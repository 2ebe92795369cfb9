import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { ConflictError } from "../../core/errors/conflict-error.ts";
import type { OperationRecord } from "../../core/operations/operation-record.ts";
import type { OperationService } from "../../core/operations/operation-service.ts";
import type { ServiceService } from "../../core/services/service-service.ts";
import { asPlainObject } from "../../core/stacks/plain-object.ts";
import { parseInput } from "../../core/validation/parse-input.ts";
import { principalOf } from "../../http/request-principal.ts";
import { serviceDeployJson } from "./deploy-json.ts";
import { gridParamsSchema } from "./route-params.ts";
import { serviceJson } from "./service-json.ts";

/** `/v1/services/:grid/:stack/:name`: a service by its id (`null` for the stack of a stackless one). */
const serviceParamsSchema = z.object({ grid: z.string(), stack: z.string(), name: z.string() });
const deployParamsSchema = serviceParamsSchema.extend({ deploy_id: z.string() });

const idOf = (params: unknown): string => {
  const { grid, stack, name } = parseInput(serviceParamsSchema, params);
  return `${grid}/${stack}/${name}`;
};

/** How long a DELETE waits for its removal to finish before answering 202 with its status. */
const REMOVAL_WAIT_MS = 30_000;

/**
 * Answers a removal: `{}` once it is done, 202 with its status while it still runs, and its
 * error (409) when it failed or was cancelled.
 */
export async function replyWithRemoval(
  reply: FastifyReply,
  operations: OperationService,
  submitted: OperationRecord,
  status: (operation: OperationRecord) => unknown | Promise<unknown>,
): Promise<unknown> {
  const operation = await operations.awaitFinished(submitted.id, REMOVAL_WAIT_MS);
  if (operation.state === "done") return reply.send({});
  if (operation.state === "errored") throw new ConflictError(operation.error ?? `${operation.description} failed`);
  if (operation.state === "cancelled") throw new ConflictError(`${operation.description} was cancelled`);
  return reply.code(202).send(await status(operation));
}

/** Services (spec "Services"): members of the grid manage them; actions answer with a deploy to follow. */
export function registerServiceRoutes(app: FastifyInstance, services: ServiceService, operations: OperationService) {
  app.get("/v1/grids/:id/services", async (request) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    const listed = await services.list(principalOf(request), id);
    const instances = await services.gridInstances(id);
    return { services: listed.map((service) => serviceJson(service, instances.get(service.id) ?? [])) };
  });

  app.post("/v1/grids/:id/services", async (request, reply) => {
    const { id } = parseInput(gridParamsSchema, request.params);
    const created = await services.create(principalOf(request), id, request.body);
    return reply.code(201).send(serviceJson(created, []));
  });

  app.get("/v1/services/:grid/:stack/:name", async (request) => {
    const service = await services.get(principalOf(request), idOf(request.params));
    return serviceJson(service, await services.instances(service));
  });

  // Changes the spec only; a deploy rolls it out.
  app.put("/v1/services/:grid/:stack/:name", async (request) => {
    const service = await services.update(principalOf(request), idOf(request.params), request.body);
    return serviceJson(service, await services.instances(service));
  });

  app.delete("/v1/services/:grid/:stack/:name", async (request, reply) => {
    const id = idOf(request.params);
    const submitted = await services.remove(principalOf(request), id);
    return replyWithRemoval(reply, operations, submitted, (operation) => serviceDeployJson(id, operation));
  });

  app.post("/v1/services/:grid/:stack/:name/deploy", async (request) => {
    const id = idOf(request.params);
    return serviceDeployJson(id, await services.deploy(principalOf(request), id, request.body ?? {}));
  });

  app.post("/v1/services/:grid/:stack/:name/scale", async (request) => {
    const id = idOf(request.params);
    const instances = asPlainObject(request.body)?.instances;
    return serviceDeployJson(id, await services.scale(principalOf(request), id, instances));
  });

  for (const action of ["start", "stop", "restart"] as const) {
    app.post(`/v1/services/:grid/:stack/:name/${action}`, async (request) => {
      const id = idOf(request.params);
      return serviceDeployJson(id, await services[action](principalOf(request), id));
    });
  }

  app.get("/v1/services/:grid/:stack/:name/deploys/:deploy_id", async (request) => {
    const { deploy_id } = parseInput(deployParamsSchema, request.params);
    const status = await services.deployStatus(principalOf(request), idOf(request.params), deploy_id);
    return serviceDeployJson(status.service.id, status.operation, status.instance_deploys);
  });
}
