import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";
import { StackFileError } from "../../core/errors/stack-file-error.ts";
import { ValidationError } from "../../core/errors/validation-error.ts";
import type { OperationRecord } from "../../core/operations/operation-record.ts";
import { manifestOf, parseBoshManifest, releaseNameOf } from "../../core/stacks/bosh-manifest.ts";
import type { StackService } from "../../core/stacks/stack-service.ts";
import { fieldsText } from "../../http/problem-text.ts";
import { principalOf } from "../../http/request-principal.ts";
import { listDeployments, stemcellsOf } from "./director-deployments.ts";
import { parseQuery, requestGrid } from "./director-query.ts";

/** The only body type BOSH's `POST /deployments` takes. */
const MANIFEST_TYPE = "text/yaml";

const nameParams = z.object({ name: z.string().min(1) });

/** Long-running requests answer BOSH's redirect to the task, which the bosh CLI follows. */
export function redirectToTask(reply: FastifyReply, operation: OperationRecord): FastifyReply {
  return reply.code(302).header("location", `/tasks/${operation.id}`).send();
}

/** A manifest's problems, or the stack's (a link to another stack's missing service), as BOSH's 400. */
function asBadRequest(error: unknown): unknown {
  if (error instanceof StackFileError) return new BadRequestError(`manifest is invalid: ${error.message}`);
  if (error instanceof ValidationError) return new BadRequestError(`manifest is invalid: ${fieldsText(error.fields)}`);
  return error;
}

/** Stacks as deployments: list, create/update and deploy from a manifest, the manifest, delete. */
export function registerDeploymentRoutes(app: FastifyInstance, stacks: StackService): void {
  app.get("/deployments", async (request) => {
    const deployments = await listDeployments(stacks, principalOf(request), requestGrid(request));
    return deployments.map((deployment) => ({
      name: deployment.stack.name,
      releases: [{ name: releaseNameOf(deployment.stack.stack), version: deployment.stack.version }],
      stemcells: stemcellsOf(deployment),
      // Berth has no cloud config: nodes are what they are.
      cloud_config: "none",
    }));
  });

  app.get<{ Params: { name: string } }>("/deployments/:name", async (request) => {
    const { name } = parseQuery(nameParams, request.params);
    const stack = await stacks.get(principalOf(request), requestGrid(request), name);
    return { manifest: manifestOf(stack, await stacks.services(stack)) };
  });

  app.delete<{ Params: { name: string } }>("/deployments/:name", async (request, reply) => {
    const { name } = parseQuery(nameParams, request.params);
    return redirectToTask(reply, await stacks.remove(principalOf(request), requestGrid(request), name));
  });

  // Its own scope, so that only the manifest type is read here: JSON or anything else is a 415.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(MANIFEST_TYPE, { parseAs: "string" }, (_request, body, done) => done(null, body));
    scope.post("/deployments", async (request, reply) => {
      const principal = principalOf(request);
      const grid = requestGrid(request);
      const text = typeof request.body === "string" ? request.body : "";
      if (text.trim() === "") throw new BadRequestError("manifest is empty");
      let applied: Awaited<ReturnType<StackService["apply"]>>;
      try {
        applied = await stacks.apply(principal, grid, parseBoshManifest(text), text);
      } catch (error) {
        throw asBadRequest(error);
      }
      return redirectToTask(reply, await stacks.deploy(principal, grid, applied.stack.name));
    });
  });
}
