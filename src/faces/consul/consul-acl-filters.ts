import type { FastifyRequest } from "fastify";
import type { Acl } from "../../core/acl/acl.ts";
import type { HealthCheck } from "../../core/consul/catalog-record.ts";
import { aclOf } from "../../http/request-principal.ts";
import { requireAcl } from "./require-acl.ts";

// Catalog, health and agent routes under Berth's (legacy, prefix-rule) Consul ACLs, as Consul
// 0.8–1.3 enforces them: a node's record and its node-level checks follow the node's rules, a
// service instance and its checks the service's (and, in catalog and health reads, its node's
// too). Reads drop what the token may not read; writes it may not make are refused.

type CheckAcl = Pick<HealthCheck, "node" | "serviceName">;

export function requireServiceWrite(request: FastifyRequest, service: string): void {
  requireAcl(request, (acl) => acl.serviceWrite(service));
}

export function requireNodeWrite(request: FastifyRequest, node: string): void {
  requireAcl(request, (acl) => acl.nodeWrite(node));
}

/** A check's write rule: its service's, or its node's for a node-level check (serviceName ""). */
export function requireCheckWrite(request: FastifyRequest, check: CheckAcl): void {
  requireAcl(request, (acl) =>
    check.serviceName === "" ? acl.nodeWrite(check.node) : acl.serviceWrite(check.serviceName),
  );
}

export function canReadService(request: FastifyRequest, service: string): boolean {
  return aclOf(request).serviceRead(service);
}

export function canReadNode(request: FastifyRequest, node: string): boolean {
  return aclOf(request).nodeRead(node);
}

/** Service instances (with their nodes) the token may read: both the node and the service. */
export function readableInstances<T extends { node: { name: string }; service: { name: string } }>(
  request: FastifyRequest,
  entries: T[],
): T[] {
  const acl = aclOf(request);
  return entries.filter((entry) => acl.nodeRead(entry.node.name) && acl.serviceRead(entry.service.name));
}

/** Catalog and health checks the token may read: on a readable node, and of a readable service if any. */
export function readableChecks<T extends CheckAcl>(request: FastifyRequest, checks: T[]): T[] {
  const acl = aclOf(request);
  return checks.filter((check) => acl.nodeRead(check.node) && mayReadCheck(acl, check));
}

/** The agent's checks the token may read: a node-level check by its node's rule, a service's by the service's. */
export function readableAgentChecks<T extends CheckAcl>(request: FastifyRequest, checks: T[]): T[] {
  const acl = aclOf(request);
  return checks.filter((check) => mayReadCheck(acl, check));
}

function mayReadCheck(acl: Acl, check: CheckAcl): boolean {
  return check.serviceName === "" ? acl.nodeRead(check.node) : acl.serviceRead(check.serviceName);
}
