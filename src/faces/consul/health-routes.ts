import type { FastifyInstance } from "fastify";
import { CHECK_STATUSES, type CheckStatus } from "../../core/consul/catalog-record.ts";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";
import { checkJson, healthEntryJson } from "./catalog-json.ts";
import type { CatalogRouteServices } from "./catalog-routes.ts";
import { readableChecks, readableInstances } from "./consul-acl-filters.ts";
import { consulBlockingRead } from "./consul-blocking-read.ts";
import { datacenterOf, nodeMetaFilter, queryFlag, queryParams, requiredPathName } from "./consul-query-params.ts";

/** The states /v1/health/state/<state> knows: the check statuses and "any". */
const HEALTH_STATES: readonly string[] = ["any", ...CHECK_STATUSES];

/** `/v1/health`: checks by node, service and state, and service instances with their health. */
export function registerConsulHealthRoutes(app: FastifyInstance, services: CatalogRouteServices): void {
  const { catalog, datacenters } = services;

  app.get("/v1/health/node/*", async (request, reply) => {
    const node = requiredPathName(request, "Missing node name");
    const dc = await datacenterOf(request, datacenters);
    const checks = await consulBlockingRead(request, reply, services, {
      prefixes: [catalog.watchPrefix(dc)],
      run: () => catalog.nodeChecks(dc, node),
    });
    return readableChecks(request, checks).map(checkJson);
  });

  app.get("/v1/health/checks/*", async (request, reply) => {
    const name = requiredPathName(request, "Missing service name");
    const dc = await datacenterOf(request, datacenters);
    const nodeMeta = nodeMetaFilter(request);
    const checks = await consulBlockingRead(request, reply, services, {
      prefixes: [catalog.watchPrefix(dc)],
      run: () => catalog.serviceChecks(dc, name, { nodeMeta }),
    });
    return readableChecks(request, checks).map(checkJson);
  });

  app.get("/v1/health/service/*", async (request, reply) => {
    const name = requiredPathName(request, "Missing service name");
    const dc = await datacenterOf(request, datacenters);
    const filter = {
      tags: queryParams(request, "tag"),
      nodeMeta: nodeMetaFilter(request),
      passingOnly: queryFlag(request, "passing"),
    };
    const entries = await consulBlockingRead(request, reply, services, {
      prefixes: [catalog.watchPrefix(dc)],
      run: () => catalog.serviceHealth(dc, name, filter),
    });
    // An instance's checks are its own and its node's: readable with the instance.
    return readableInstances(request, entries).map((entry) => healthEntryJson(entry, dc));
  });

  app.get("/v1/health/state/*", async (request, reply) => {
    const state = requiredPathName(request, "Missing check state");
    if (!HEALTH_STATES.includes(state)) {
      throw new BadRequestError(
        `Invalid check state ${JSON.stringify(state)}: must be one of ${HEALTH_STATES.join(", ")}`,
      );
    }
    const dc = await datacenterOf(request, datacenters);
    const nodeMeta = nodeMetaFilter(request);
    const checks = await consulBlockingRead(request, reply, services, {
      prefixes: [catalog.watchPrefix(dc)],
      run: () => catalog.checksInState(dc, state as CheckStatus | "any", { nodeMeta }),
    });
    return readableChecks(request, checks).map(checkJson);
  });
}
