import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { CatalogLookup } from "../../core/consul/catalog-lookup.ts";
import type { DatacenterDirectory } from "../../core/consul/datacenter-directory.ts";
import type { SessionRequest, SessionService } from "../../core/consul/session-service.ts";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";
import { parseGoDuration } from "../../http/go-duration.ts";
import { type ConsulReadServices, consulBlockingRead } from "./consul-blocking-read.ts";
import { consulObject, decodeJsonBody, rawBody } from "./consul-body.ts";
import { datacenterOf, pathRest } from "./consul-query-params.ts";
import { readableSessions, requireSessionWrite, sessionNotFound, writableSession } from "./session-acl.ts";
import { sessionJson } from "./session-json.ts";

export interface SessionRouteServices extends ConsulReadServices {
  readonly sessions: SessionService;
  readonly datacenters: DatacenterDirectory;
  /** Names a new session's node when the request does not: the master's own, as Consul's agent does. */
  readonly catalog: Pick<CatalogLookup, "localNodeName">;
}

/** Consul's lockDelayMinThreshold: a lock delay under 1000 (ns) is taken as seconds. */
const SECONDS_BELOW_NS = 1000;
/** Go's time.Duration is an int64 of nanoseconds. */
const MAX_DURATION_NS = 2 ** 63 - 1;

/** LockDelay as Consul's FixupLockDelay reads it: a duration string or a number of ns, small values being seconds. */
const lockDelaySchema = z
  .union([z.number(), z.string()], { error: "must be a duration or a number of nanoseconds" })
  .transform((raw, context) => {
    const ms = typeof raw === "number" ? Math.trunc(raw) / 1e6 : parseGoDuration(raw);
    if (ms === undefined) {
      context.addIssue({ code: "custom", message: `time: invalid duration ${JSON.stringify(raw)}` });
      return z.NEVER;
    }
    const ns = Math.round(ms * 1e6);
    const scaled = ns < SECONDS_BELOW_NS ? ns * 1e9 : ns;
    if (Math.abs(scaled) > MAX_DURATION_NS) {
      context.addIssue({ code: "custom", message: "out of range for a duration" });
      return z.NEVER;
    }
    return scaled;
  });

const createSchema = consulObject({
  Name: z.string({ error: "must be a string" }).optional(),
  Node: z.string({ error: "must be a string" }).optional(),
  Checks: z.array(z.string({ error: "must be strings" }), { error: "must be an array of check ids" }).nullish(),
  LockDelay: lockDelaySchema.optional(),
  Behavior: z.string({ error: "must be a string" }).optional(),
  TTL: z.string({ error: "must be a string" }).optional(),
});

/**
 * `/v1/session`: create (PUT, optional JSON body with Consul's defaults), destroy and renew (PUT),
 * info, node and list (GET, blocking). Writes take session write on the session's node; reads
 * show only the sessions the token may read (session-acl.ts).
 */
export function registerSessionRoutes(app: FastifyInstance, services: SessionRouteServices): void {
  const { sessions, datacenters, catalog } = services;

  app.put("/v1/session/create", async (request) => {
    const dc = await datacenterOf(request, datacenters);
    const fields = sessionRequestOf(request.body);
    const node = fields.node ?? catalog.localNodeName();
    requireSessionWrite(request, node);
    return { ID: await sessions.create(dc, { ...fields, node }) };
  });

  app.put("/v1/session/destroy/*", async (request) => {
    const dc = await datacenterOf(request, datacenters);
    const id = requiredSession(request);
    await writableSession(request, sessions, dc, id);
    await sessions.destroy(dc, id);
    return true;
  });

  app.put("/v1/session/renew/*", async (request) => {
    const dc = await datacenterOf(request, datacenters);
    const id = requiredSession(request);
    const existing = await writableSession(request, sessions, dc, id);
    // It may also run out between the two steps.
    const session = existing && (await sessions.renew(dc, id));
    if (!session) throw sessionNotFound(id);
    return [sessionJson(session)];
  });

  app.get("/v1/session/info/*", async (request, reply) => {
    const dc = await datacenterOf(request, datacenters);
    const session = await consulBlockingRead(request, reply, services, sessions.info(dc, requiredSession(request)));
    const [readable] = readableSessions(request, session ? [session] : []);
    // The spec's answer for an unknown session (or one the token may not read): null rather than a list.
    return reply.type("application/json").send(readable ? JSON.stringify([sessionJson(readable)]) : "null");
  });

  app.get("/v1/session/node/*", async (request, reply) => {
    const dc = await datacenterOf(request, datacenters);
    const node = pathRest(request);
    if (node === "") throw new BadRequestError("Missing node name");
    const found = await consulBlockingRead(request, reply, services, sessions.nodeSessions(dc, node));
    return readableSessions(request, found).map(sessionJson);
  });

  app.get("/v1/session/list", async (request, reply) => {
    const dc = await datacenterOf(request, datacenters);
    const found = await consulBlockingRead(request, reply, services, sessions.list(dc));
    return readableSessions(request, found).map(sessionJson);
  });
}

/** The session id at the end of the path; Consul's 400 when there is none. */
function requiredSession(request: FastifyRequest): string {
  const id = pathRest(request);
  if (id === "") throw new BadRequestError("Missing session");
  return id;
}

/** The create body; none at all means every default. */
function sessionRequestOf(body: unknown): SessionRequest {
  if (rawBody(body).length === 0) return {};
  const fields = decodeJsonBody(createSchema, body);
  const ttlMs = fields.TTL === undefined || fields.TTL === "" ? undefined : parseGoDuration(fields.TTL);
  return {
    name: fields.Name,
    node: fields.Node,
    checks: fields.Checks === undefined ? undefined : (fields.Checks ?? []),
    lockDelayNs: fields.LockDelay,
    behavior: fields.Behavior,
    ttl: fields.TTL,
    ttlNs: ttlMs === undefined ? undefined : Math.round(ttlMs * 1e6),
  };
}
