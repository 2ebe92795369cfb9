import type { FastifyInstance } from "fastify";
import type { StackService } from "../../core/stacks/stack-service.ts";
import { principalOf } from "../../http/request-principal.ts";
import { listDeployments, stemcellsOf } from "./director-deployments.ts";
import { requestGrid } from "./director-query.ts";

/** `GET /stemcells`: the images the grid's stacks run (repository and tag), with the deployments using each. */
export function registerStemcellRoutes(app: FastifyInstance, stacks: StackService): void {
  app.get("/stemcells", async (request) => {
    const byImage = new Map<string, { name: string; version: string; deployments: string[] }>();
    for (const deployment of await listDeployments(stacks, principalOf(request), requestGrid(request))) {
      for (const stemcell of stemcellsOf(deployment)) {
        const image = `${stemcell.name}:${stemcell.version}`;
        const entry = byImage.get(image) ?? { ...stemcell, deployments: [] };
        entry.deployments.push(deployment.stack.name);
        byImage.set(image, entry);
      }
    }
    return [...byImage.entries()]
      .toSorted(([a], [b]) => a.localeCompare(b))
      .map(([image, { name, version, deployments }]) => ({
        name,
        // An image has no OS name of its own; its repository says the most.
        operating_system: name,
        version,
        cid: image,
        deployments: deployments.map((deployment) => ({ name: deployment })),
      }));
  });
}
