import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { berthVersion } from "../../config/berth-version.ts";
import type { CheckStatus } from "../../core/consul/catalog-record.ts";
import type { LocalAgentService } from "../../core/consul/local-agent-service.ts";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";
import {
  type AgentCheckBody,
  agentCheckOf,
  agentCheckSchema,
  agentServiceSchema,
  checkStatusOf,
  serviceRegistrationOf,
} from "./catalog-input-schemas.ts";
import { agentServiceJson, checkJson } from "./catalog-json.ts";
import {
  canReadNode,
  canReadService,
  readableAgentChecks,
  requireCheckWrite,
  requireServiceWrite,
} from "./consul-acl-filters.ts";
import { type ConsulReadServices, consulBlockingRead } from "./consul-blocking-read.ts";
import { consulObject, decodeJsonBody } from "./consul-body.ts";
import { queryParam, requiredPathName, setPlainReadMeta } from "./consul-query-params.ts";
import { requireAcl } from "./require-acl.ts";

export interface AgentRouteServices extends ConsulReadServices {
  readonly agent: LocalAgentService;
}

/** Consul's session_ttl_min default, as agent/self reports it (nanoseconds). */
const SESSION_TTL_MIN_NS = 10e9;

const checkUpdateSchema = consulObject({
  Status: z.string({ error: "must be a string" }).nullish(),
  Output: z.string({ error: "must be a string" }).nullish(),
});

/**
 * `/v1/agent`: the master's own agent. State-changing routes answer GET as well as PUT, as the
 * Consul versions the spec describes did (old clients use GET).
 */
export function registerAgentRoutes(app: FastifyInstance, services: AgentRouteServices): void {
  const { agent } = services;
  /** A state-changing route: GET or PUT, answered 200 with an empty body (as Consul does). */
  const change = (url: string, handler: (request: FastifyRequest) => Promise<void>): void => {
    app.route({
      method: ["GET", "PUT"],
      url,
      // HEAD stays safe: no state change behind it.
      exposeHeadRoute: false,
      handler: async (request, reply) => {
        await handler(request);
        return reply.send();
      },
    });
  };

  app.get("/v1/agent/self", async (request, reply) => {
    requireAcl(request, (acl) => acl.agentRead(agent.nodeName));
    setPlainReadMeta(request, reply, services.cluster);
    return { Config: selfConfig(agent), Member: memberJson(agent) };
  });

  app.get("/v1/agent/members", async (request, reply) => {
    setPlainReadMeta(request, reply, services.cluster);
    return canReadNode(request, agent.nodeName) ? [memberJson(agent)] : [];
  });

  app.get("/v1/agent/services", async (request, reply) => {
    const list = await consulBlockingRead(request, reply, services, {
      prefixes: [agent.watchPrefix()],
      run: () => agent.services(),
    });
    const readable = list.filter((service) => canReadService(request, service.name));
    return Object.fromEntries(readable.map((service) => [service.id, agentServiceJson(service)]));
  });

  app.get("/v1/agent/checks", async (request, reply) => {
    const list = await consulBlockingRead(request, reply, services, {
      prefixes: [agent.watchPrefix()],
      run: () => agent.checks(),
    });
    return Object.fromEntries(readableAgentChecks(request, list).map((check) => [check.id, checkJson(check)]));
  });

  // Berth masters find each other through their shared store and agents dial the master, so there is
  // no gossip pool to join or to leave: both answer 200 as Consul does once it is done.
  change("/v1/agent/join/*", async (request) => {
    requireAcl(request, (acl) => acl.agentWrite(agent.nodeName));
    requiredPathName(request, "Missing address");
  });
  change("/v1/agent/force-leave/*", async (request) => {
    requireAcl(request, (acl) => acl.agentWrite(agent.nodeName));
  });

  change("/v1/agent/service/register", async (request) => {
    const body = decodeJsonBody(agentServiceSchema, request.body);
    if (!body.Name) throw new BadRequestError("Missing service name");
    const service = serviceRegistrationOf({
      id: body.ID || body.Name,
      name: body.Name,
      tags: body.Tags,
      address: body.Address,
      port: body.Port,
      meta: body.Meta,
      enableTagOverride: body.EnableTagOverride,
    });
    const statusMessage = "Status for checks must 'passing', 'warning', 'critical'";
    const checks = [...(body.Check ? [body.Check] : []), ...(body.Checks ?? [])].map((check) =>
      agentCheckOf(check, statusMessage),
    );
    requireServiceWrite(request, service.name);
    const existing = (await agent.services()).value.find((known) => known.id === service.id);
    if (existing) requireServiceWrite(request, existing.name);
    await agent.registerService(service, checks);
  });

  change("/v1/agent/service/deregister/*", async (request) => {
    const existing = await agent.service(requiredPathName(request, "Missing service ID"));
    requireServiceWrite(request, existing.name);
    await agent.deregisterService(existing.id);
  });

  change("/v1/agent/check/register", async (request) => {
    const body: AgentCheckBody = decodeJsonBody(agentCheckSchema, request.body);
    if (!body.Name) throw new BadRequestError("Missing check name");
    const check = { ...agentCheckOf(body, "Bad check status"), name: body.Name };
    const serviceId = body.ServiceID ?? "";
    const service = serviceId === "" ? undefined : (await agent.services()).value.find((s) => s.id === serviceId);
    requireCheckWrite(request, { node: agent.nodeName, serviceName: service?.name ?? "" });
    const existing = (await agent.checks()).value.find((known) => known.id === (check.id || check.name));
    if (existing) requireCheckWrite(request, existing);
    await agent.registerCheck(check, serviceId);
  });

  change("/v1/agent/check/deregister/*", async (request) => {
    const existing = await agent.check(requiredPathName(request, "Missing check ID"));
    requireCheckWrite(request, existing);
    await agent.deregisterCheck(existing.id);
  });

  for (const [action, status] of [
    ["pass", "passing"],
    ["warn", "warning"],
    ["fail", "critical"],
  ] as const) {
    change(`/v1/agent/check/${action}/*`, (request) =>
      updateTtl(request, agent, status, queryParam(request, "note") ?? ""),
    );
  }

  app.put("/v1/agent/check/update/*", async (request, reply) => {
    const body = decodeJsonBody(checkUpdateSchema, request.body);
    const status = checkStatusOf(
      body.Status,
      ["passing", "warning", "critical"],
      `Invalid check status: '${body.Status ?? ""}'`,
    );
    if (!status) throw new BadRequestError("Invalid check status: ''");
    await updateTtl(request, agent, status, body.Output ?? "");
    return reply.send();
  });
}

async function updateTtl(
  request: FastifyRequest,
  agent: LocalAgentService,
  status: CheckStatus,
  output: string,
): Promise<void> {
  const existing = await agent.check(requiredPathName(request, "Missing check ID"));
  requireCheckWrite(request, existing);
  await agent.updateTtl(existing.id, status, output);
}

/** The agent's configuration as Consul's agent/self reports it; ports Berth does not serve are -1. */
function selfConfig(agent: LocalAgentService) {
  const { host, port } = agent.address;
  return {
    Bootstrap: true,
    Server: true,
    Datacenter: agent.datacenter,
    DataDir: "",
    DNSRecursor: "",
    DNSRecursors: [],
    Domain: "consul.",
    LogLevel: "INFO",
    NodeName: agent.nodeName,
    ClientAddr: host,
    BindAddr: host,
    AdvertiseAddr: host,
    Ports: { DNS: -1, HTTP: port, RPC: -1, SerfLan: -1, SerfWan: -1, Server: -1 },
    LeaveOnTerm: false,
    SkipLeaveOnInt: false,
    StatsiteAddr: "",
    Protocol: 2,
    EnableDebug: false,
    VerifyIncoming: false,
    VerifyOutgoing: false,
    CAFile: "",
    CertFile: "",
    KeyFile: "",
    StartJoin: [],
    UiDir: "",
    PidFile: "",
    EnableSyslog: false,
    RejoinAfterLeave: false,
    SessionTTLMin: SESSION_TTL_MIN_NS,
    EnableScriptChecks: agent.scriptChecksEnabled,
    Version: berthVersion,
    Revision: "",
  };
}

/** The master as a member of the (gossip-less) pool: alive, a server of its datacenter. */
function memberJson(agent: LocalAgentService) {
  const { host, port } = agent.address;
  return {
    Name: agent.nodeName,
    Addr: host,
    Port: port,
    Tags: {
      bootstrap: "1",
      build: `${berthVersion}:berth`,
      dc: agent.datacenter,
      port: String(port),
      role: "consul",
      vsn: "2",
      vsn_max: "3",
      vsn_min: "2",
    },
    Status: 1,
    ProtocolMin: 1,
    ProtocolMax: 5,
    ProtocolCur: 2,
    DelegateMin: 2,
    DelegateMax: 5,
    DelegateCur: 4,
  };
}
