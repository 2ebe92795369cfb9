import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { OperationService } from "../../core/operations/operation-service.ts";
import type { StackService } from "../../core/stacks/stack-service.ts";
import type { StackVmService } from "../../core/stacks/stack-vm-service.ts";
import { VM_DETAILS_KIND, type VmDetailsParams } from "../../core/stacks/vm-details-kind.ts";
import { principalOf } from "../../http/request-principal.ts";
import { redirectToTask } from "./deployment-routes.ts";
import { parseQuery, requestGrid } from "./director-query.ts";

const vmsQuery = z.object({ format: z.literal("full", 'must be "full"').optional() });

/**
 * `GET /deployments/:name/vms`: a stack's instances at once; with `format=full`, BOSH's
 * redirect to a task whose result has each instance's details (a director.vms operation).
 */
export function registerVmRoutes(
  app: FastifyInstance,
  stacks: StackService,
  vms: StackVmService,
  operations: OperationService,
): void {
  app.get<{ Params: { name: string } }>("/deployments/:name/vms", async (request, reply) => {
    const principal = principalOf(request);
    const grid = requestGrid(request);
    const { format } = parseQuery(vmsQuery, request.query);
    // Reading the stack as the caller checks their access to it.
    const stack = await stacks.get(principal, grid, request.params.name);
    if (format === "full") {
      const params: VmDetailsParams = { stack: stack.name };
      const operation = await operations.submit({
        kind: VM_DETAILS_KIND,
        description: "retrieve vm-stats",
        user: principal.user.username,
        grid,
        // Its own queue: VM details must not wait behind the stack's deploy.
        target: `vms/${stack.name}`,
        deployment: stack.name,
        internal: true,
        params,
      });
      return redirectToTask(reply, operation);
    }
    return (await vms.vms(grid, stack.name)).map(({ instance }) => ({
      agent_id: `${grid}/${instance.node}`,
      cid: instance.actual?.container_id ?? null,
      job: instance.desired.service,
      index: instance.instance_number - 1,
      id: instance.desired.id,
    }));
  });
}
