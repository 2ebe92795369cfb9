import type { FastifyInstance } from "fastify";
import { releaseNameOf } from "../../core/stacks/bosh-manifest.ts";
import type { StackService } from "../../core/stacks/stack-service.ts";
import { principalOf } from "../../http/request-principal.ts";
import { listDeployments } from "./director-deployments.ts";
import { requestGrid } from "./director-query.ts";

type ReleaseVersion = {
  version: string;
  commit_hash: string;
  uncommitted_changes: boolean;
  currently_deployed: boolean;
  job_names: string[];
};

/**
 * `GET /releases`: the grid's stacks by their `owner/name` (a manifest's bare release name
 * shown as given) and version. A version is currently deployed when a stack of it has a service
 * deployed; its jobs are the services of the stacks at that version.
 */
export function registerReleaseRoutes(app: FastifyInstance, stacks: StackService): void {
  app.get("/releases", async (request) => {
    const releases = new Map<string, Map<string, ReleaseVersion>>();
    for (const { stack, services } of await listDeployments(stacks, principalOf(request), requestGrid(request))) {
      const name = releaseNameOf(stack.stack);
      const versions = releases.get(name) ?? new Map<string, ReleaseVersion>();
      const entry = versions.get(stack.version) ?? {
        version: stack.version,
        commit_hash: "",
        uncommitted_changes: false,
        currently_deployed: false,
        job_names: [],
      };
      entry.currently_deployed ||= services.some((service) => service.deployed_at !== null);
      entry.job_names = [...new Set([...entry.job_names, ...stack.services])].sort();
      versions.set(stack.version, entry);
      releases.set(name, versions);
    }
    return [...releases.entries()]
      .toSorted(([a], [b]) => a.localeCompare(b))
      .map(([name, versions]) => ({
        name,
        release_versions: [...versions.values()].toSorted((a, b) =>
          a.version.localeCompare(b.version, undefined, { numeric: true }),
        ),
      }));
  });
}
