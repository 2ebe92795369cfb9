import type { FastifyReply, FastifyRequest } from "fastify";
import type { ClusterService } from "../../core/cluster/cluster-service.ts";
import type { DatacenterDirectory } from "../../core/consul/datacenter-directory.ts";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";
import { consistencyOf, setConsulQueryMeta } from "./consul-query-meta.ts";

type Query = Readonly<Record<string, string | string[] | undefined>>;

const queryOf = (request: FastifyRequest): Query => (request.query ?? {}) as Query;

/** Every value of a repeatable parameter (`?tag=a&tag=b`). */
export function queryParams(request: FastifyRequest, name: string): string[] {
  const value = queryOf(request)[name];
  return value === undefined ? [] : [value].flat();
}

/** The first value of a parameter, as Go's url.Values.Get; undefined when absent. */
export function queryParam(request: FastifyRequest, name: string): string | undefined {
  return queryParams(request, name)[0];
}

/** A flag like `?passing`: present and empty or true-ish; "false"/"0" turn it off. */
export function queryFlag(request: FastifyRequest, name: string): boolean {
  const value = queryParam(request, name);
  if (value === undefined) return false;
  if (["", "1", "t", "T", "true", "TRUE", "True"].includes(value)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) return false;
  throw new BadRequestError(`Invalid value for ?${name}`);
}

/** `?node-meta=key:value`, repeatable: every pair must match. */
export function nodeMetaFilter(request: FastifyRequest): Record<string, string> {
  const filter: Record<string, string> = Object.create(null);
  for (const pair of queryParams(request, "node-meta")) {
    const colon = pair.indexOf(":");
    if (colon === -1) filter[pair] = "";
    else filter[pair.slice(0, colon)] = pair.slice(colon + 1);
  }
  return filter;
}

/** The datacenter (grid) `?dc=` names, or the default one; unknown ones are a 500 "No path to datacenter". */
export function datacenterOf(request: FastifyRequest, datacenters: DatacenterDirectory): Promise<string> {
  return datacenters.resolve(queryParam(request, "dc"));
}

/** The rest of the path after a route's prefix (`/v1/catalog/service/<name>`): Consul takes it whole, slashes too. */
export function pathRest(request: FastifyRequest): string {
  return (request.params as { "*"?: string })["*"] ?? "";
}

/** The name at the end of the path; a 400 with Consul's message when it is empty. */
export function requiredPathName(request: FastifyRequest, missing: string): string {
  const name = pathRest(request);
  if (name === "") throw new BadRequestError(missing);
  return name;
}

/** The query headers of a read that does not block (agent self, members, datacenters): the store's index, the read mode. */
export function setPlainReadMeta(request: FastifyRequest, reply: FastifyReply, cluster: ClusterService): void {
  const consistency = consistencyOf(request.query);
  const status = cluster.status();
  setConsulQueryMeta(reply, { index: status.index, knownLeader: status.leader !== "", consistency });
}
