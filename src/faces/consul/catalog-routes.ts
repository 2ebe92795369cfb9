import type { FastifyInstance, FastifyRequest } from "fastify";
import type { CatalogRegistration, CatalogService, CheckRegistration } from "../../core/consul/catalog-service.ts";
import type { DatacenterDirectory } from "../../core/consul/datacenter-directory.ts";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";
import { aclOf } from "../../http/request-principal.ts";
import {
  assertValidMeta,
  type CatalogCheckBody,
  catalogDeregisterSchema,
  catalogRegisterSchema,
  checkStatusOf,
  serviceRegistrationOf,
} from "./catalog-input-schemas.ts";
import { catalogServiceJson, nodeJson, nodeServiceJson } from "./catalog-json.ts";
import {
  canReadNode,
  canReadService,
  readableInstances,
  requireCheckWrite,
  requireNodeWrite,
  requireServiceWrite,
} from "./consul-acl-filters.ts";
import { type ConsulReadServices, consulBlockingRead } from "./consul-blocking-read.ts";
import { decodeJsonBody } from "./consul-body.ts";
import {
  datacenterOf,
  nodeMetaFilter,
  queryParam,
  queryParams,
  requiredPathName,
  setPlainReadMeta,
} from "./consul-query-params.ts";

export interface CatalogRouteServices extends ConsulReadServices {
  readonly catalog: CatalogService;
  readonly datacenters: DatacenterDirectory;
}

/** `/v1/catalog`: register and deregister entries, list datacenters, nodes and services. */
export function registerCatalogRoutes(app: FastifyInstance, services: CatalogRouteServices): void {
  const { catalog, datacenters } = services;

  app.put("/v1/catalog/register", async (request) => {
    const body = decodeJsonBody(catalogRegisterSchema, request.body);
    const dc = await datacenters.resolve(body.Datacenter || queryParam(request, "dc"));
    const node = body.Node ?? "";
    if (node === "") throw new BadRequestError("Must provide node");
    assertValidMeta(body.NodeMeta, "Node");
    const service = body.Service
      ? serviceRegistrationOf({
          id: body.Service.ID || body.Service.Service || "",
          name: body.Service.Service ?? "",
          tags: body.Service.Tags,
          address: body.Service.Address,
          port: body.Service.Port,
          meta: body.Service.Meta,
          enableTagOverride: body.Service.EnableTagOverride,
        })
      : undefined;
    if (service && service.name === "") throw new BadRequestError("Must provide service name");
    const checks = [...(body.Check ? [body.Check] : []), ...(body.Checks ?? [])].map((check) =>
      catalogCheckOf(check, node),
    );

    const registration: CatalogRegistration = {
      node,
      address: body.Address ?? undefined,
      taggedAddresses: body.TaggedAddresses,
      nodeMeta: body.NodeMeta,
      skipNodeUpdate: body.SkipNodeUpdate ?? false,
      service,
      checks,
    };
    await requireRegistrationAcl(request, catalog, dc, registration);
    await catalog.register(dc, registration);
    return true;
  });

  app.put("/v1/catalog/deregister", async (request) => {
    const body = decodeJsonBody(catalogDeregisterSchema, request.body);
    const dc = await datacenters.resolve(body.Datacenter || queryParam(request, "dc"));
    const node = body.Node ?? "";
    if (node === "") throw new BadRequestError("Must provide node");
    const serviceId = body.ServiceID || undefined;
    const checkId = body.CheckID || undefined;
    if (serviceId !== undefined) {
      const found = (await catalog.nodeServices(dc, node)).value?.services.find((s) => s.id === serviceId);
      if (found) requireServiceWrite(request, found.name);
    }
    if (checkId !== undefined) {
      const found = (await catalog.nodeChecks(dc, node)).value.find((check) => check.id === checkId);
      if (found) requireCheckWrite(request, found);
    }
    if (serviceId === undefined && checkId === undefined) requireNodeWrite(request, node);
    await catalog.deregister(dc, { node, serviceId, checkId });
    return true;
  });

  // Consul serves the datacenter list without a token: it is how clients find a server at all.
  app.get("/v1/catalog/datacenters", { config: { public: true } }, async (request, reply) => {
    const names = await datacenters.list();
    setPlainReadMeta(request, reply, services.cluster);
    return names;
  });

  app.get("/v1/catalog/nodes", async (request, reply) => {
    const dc = await datacenterOf(request, datacenters);
    const nodeMeta = nodeMetaFilter(request);
    const nodes = await consulBlockingRead(request, reply, services, {
      prefixes: [catalog.watchPrefix(dc)],
      run: () => catalog.nodes(dc, { nodeMeta }),
    });
    return nodes.filter((node) => canReadNode(request, node.name)).map((node) => nodeJson(node, dc));
  });

  app.get("/v1/catalog/services", async (request, reply) => {
    const dc = await datacenterOf(request, datacenters);
    const nodeMeta = nodeMetaFilter(request);
    const byName = await consulBlockingRead(request, reply, services, {
      prefixes: [catalog.watchPrefix(dc)],
      run: () => catalog.services(dc, { nodeMeta }),
    });
    const visible = [...byName].filter(([name]) => canReadService(request, name));
    return Object.fromEntries(visible);
  });

  app.get("/v1/catalog/service/*", async (request, reply) => {
    const name = requiredPathName(request, "Missing service name");
    const dc = await datacenterOf(request, datacenters);
    const filter = { tags: queryParams(request, "tag"), nodeMeta: nodeMetaFilter(request) };
    const entries = await consulBlockingRead(request, reply, services, {
      prefixes: [catalog.watchPrefix(dc)],
      run: () => catalog.serviceNodes(dc, name, filter),
    });
    return readableInstances(request, entries).map((entry) => catalogServiceJson(entry, dc));
  });

  app.get("/v1/catalog/node/*", async (request, reply) => {
    const name = requiredPathName(request, "Missing node name");
    const dc = await datacenterOf(request, datacenters);
    const found = await consulBlockingRead(request, reply, services, {
      prefixes: [catalog.watchPrefix(dc)],
      run: () => catalog.nodeServices(dc, name),
    });
    if (!found || !canReadNode(request, name)) return null;
    const readable = found.services.filter((service) => canReadService(request, service.name));
    return {
      Node: nodeJson(found.node, dc),
      Services: Object.fromEntries(readable.map((service) => [service.id, nodeServiceJson(service)])),
    };
  });
}

/** A check of a catalog registration: the catalog only records it (no definition, nothing runs it). */
function catalogCheckOf(check: CatalogCheckBody, node: string): CheckRegistration {
  if (check.Node && check.Node !== node) {
    throw new BadRequestError(`Check node ${JSON.stringify(check.Node)} does not match node ${JSON.stringify(node)}`);
  }
  const id = check.CheckID || check.Name || "";
  if (id === "") throw new BadRequestError("Missing check ID");
  return {
    id,
    name: check.Name || id,
    status: checkStatusOf(
      check.Status,
      ["passing", "warning", "critical", "unknown"],
      `Invalid check status ${JSON.stringify(check.Status)}: must be unknown, passing, warning or critical`,
    ),
    notes: check.Notes ?? "",
    output: check.Output ?? undefined,
    serviceId: check.ServiceID ?? "",
    definition: null,
  };
}

/**
 * Consul's vetting of a catalog registration: node write to create or change the node or to
 * register its node-level checks (so a service may re-post its node as it is without it); service
 * write for the service, for the one it replaces under the same ID, and for any other service of
 * the node whose checks it registers.
 */
async function requireRegistrationAcl(
  request: FastifyRequest,
  catalog: CatalogService,
  dc: string,
  registration: CatalogRegistration,
): Promise<void> {
  // A management token may do it all: spare it the lookups.
  if (aclOf(request).management) return;
  const { node, service, checks = [] } = registration;
  if (await catalog.changesNode(dc, registration)) requireNodeWrite(request, node);
  const known = (await catalog.nodeServices(dc, node)).value?.services ?? [];
  const nameOf = (serviceId: string) => known.find((existing) => existing.id === serviceId)?.name;
  if (service) {
    requireServiceWrite(request, service.name);
    const replaced = nameOf(service.id);
    if (replaced !== undefined) requireServiceWrite(request, replaced);
  }
  for (const check of checks) {
    if (check.serviceId === service?.id) continue;
    const serviceName = check.serviceId === "" ? "" : nameOf(check.serviceId);
    // A check of an unknown service is refused by the catalog (400) whoever asks.
    if (serviceName !== undefined) requireCheckWrite(request, { node, serviceName });
  }
}
