import type { FastifyRequest } from "fastify";
import type { HealthCheck } from "../../core/consul/catalog-record.ts";
import { aclOf } from "../../http/request-principal.ts";
import { requireAcl } from "./require-acl.ts";

// Catalog, health and agent routes under Berth's (legacy, prefix-rule) Consul ACLs: reads drop what
// the token may not read, writes to a service need service write. Berth's ACLs have no node rules,
// so what concerns nodes themselves (the node list, a node's record and own checks, the agent) is
// ruled as the service "" would be: a catch-all `service ""` rule, else the default policy.

/** The service's write rule; "" for node-level entries (a bare node, a node's own check, the agent). */
export function requireServiceWrite(request: FastifyRequest, service: string): void {
  requireAcl(request, (acl) => acl.serviceWrite(service));
}

export function requireNodeWrite(request: FastifyRequest): void {
  requireServiceWrite(request, "");
}

/** A check's write rule: its service's, or the node's for a node-level check (serviceName ""). */
export function requireCheckWrite(request: FastifyRequest, check: Pick<HealthCheck, "serviceName">): void {
  requireServiceWrite(request, check.serviceName);
}

export function canReadService(request: FastifyRequest, service: string): boolean {
  return aclOf(request).serviceRead(service);
}

/** Whether the token may read node-level entries. */
export function canReadNodes(request: FastifyRequest): boolean {
  return canReadService(request, "");
}

export function requireNodeRead(request: FastifyRequest): void {
  requireAcl(request, (acl) => acl.serviceRead(""));
}

/** The checks the token may read: its services' checks, and node-level ones when it may read nodes. */
export function readableChecks<T extends Pick<HealthCheck, "serviceName">>(request: FastifyRequest, checks: T[]): T[] {
  const acl = aclOf(request);
  return checks.filter((check) => acl.serviceRead(check.serviceName));
}
