import type { FastifyRequest } from "fastify";
import type { HealthCheck } from "../../core/consul/catalog-record.ts";
import { aclOf } from "../../http/request-principal.ts";
import { requireAcl } from "./require-acl.ts";

// Catalog, health and agent routes under Berth's (legacy, prefix-rule) Consul ACLs: reads drop what
// the token may not read; writes to a service need service write; node-level writes (a bare node,
// a node's own checks) need a management token, as Berth's ACLs have no node rules.

export function requireServiceWrite(request: FastifyRequest, service: string): void {
  requireAcl(request, (acl) => acl.serviceWrite(service));
}

export function requireNodeWrite(request: FastifyRequest): void {
  requireAcl(request, (acl) => acl.management);
}

/** A check's write rule: its service's, or the node's for a node-level check. */
export function requireCheckWrite(request: FastifyRequest, check: Pick<HealthCheck, "serviceName">): void {
  if (check.serviceName === "") requireNodeWrite(request);
  else requireServiceWrite(request, check.serviceName);
}

export function canReadService(request: FastifyRequest, service: string): boolean {
  return aclOf(request).serviceRead(service);
}

/** Service checks the token may read, and every node-level check. */
export function readableChecks<T extends Pick<HealthCheck, "serviceName">>(request: FastifyRequest, checks: T[]): T[] {
  const acl = aclOf(request);
  return checks.filter((check) => check.serviceName === "" || acl.serviceRead(check.serviceName));
}
