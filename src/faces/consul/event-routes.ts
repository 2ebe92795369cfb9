import type { FastifyInstance } from "fastify";
import type { DatacenterDirectory } from "../../core/consul/datacenter-directory.ts";
import type { EventService, UserEvent } from "../../core/consul/event-service.ts";
import { aclOf } from "../../http/request-principal.ts";
import { type ConsulReadServices, consulBlockingRead } from "./consul-blocking-read.ts";
import { rawBody } from "./consul-body.ts";
import { datacenterOf, queryParam, requiredPathName } from "./consul-query-params.ts";
import { requireAcl } from "./require-acl.ts";

export interface EventRouteServices extends ConsulReadServices {
  readonly events: EventService;
  readonly datacenters: DatacenterDirectory;
}

/** `/v1/event`: fire a user event (the body is its payload) and list the recent ones. */
export function registerEventRoutes(app: FastifyInstance, services: EventRouteServices): void {
  const { events, datacenters } = services;

  app.put("/v1/event/fire/*", async (request) => {
    const name = requiredPathName(request, "Missing name");
    const dc = await datacenterOf(request, datacenters);
    requireAcl(request, (acl) => acl.eventWrite(name));
    const payload = rawBody(request.body);
    const event = await events.fire(dc, {
      name,
      payload,
      nodeFilter: queryParam(request, "node") ?? "",
      serviceFilter: queryParam(request, "service") ?? "",
      tagFilter: queryParam(request, "tag") ?? "",
    });
    // The Lamport time is assigned as the event spreads, so the answer to the firing still has 0.
    return { ...eventJson(event), LTime: 0 };
  });

  app.get("/v1/event/list", async (request, reply) => {
    const dc = await datacenterOf(request, datacenters);
    const name = queryParam(request, "name") || undefined;
    const list = await consulBlockingRead(request, reply, services, {
      prefixes: [events.watchPrefix(dc)],
      run: () => events.list(dc, name),
    });
    const acl = aclOf(request);
    return list.filter((event) => acl.eventRead(event.name)).map(eventJson);
  });
}

function eventJson(event: UserEvent) {
  return {
    ID: event.id,
    Name: event.name,
    Payload: event.payload,
    NodeFilter: event.nodeFilter,
    ServiceFilter: event.serviceFilter,
    TagFilter: event.tagFilter,
    Version: event.version,
    LTime: event.ltime,
  };
}
