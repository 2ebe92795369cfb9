import type { FastifyReply } from "fastify";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";

/** Consul's read modes: `?stale`, `?consistent`, or the default, served by the leader. */
export type ConsulConsistency = "leader" | "stale" | "consistent";

/** What Consul reports about the read behind a response. */
export interface ConsulQueryMeta {
  /** The index for the client's next blocking query; never 0. Left out by reads that cannot block. */
  readonly index?: number;
  readonly knownLeader: boolean;
  /** Ms since the leader was last heard from; 0 on the leader itself. */
  readonly lastContactMs?: number;
  /** The mode the read was served in (X-Consul-Effective-Consistency). */
  readonly consistency?: ConsulConsistency;
}

/**
 * Sets X-Consul-Index, X-Consul-KnownLeader and X-Consul-LastContact, as every Consul read does,
 * and X-Consul-Effective-Consistency when the read's mode is given.
 */
export function setConsulQueryMeta(reply: FastifyReply, meta: ConsulQueryMeta): FastifyReply {
  if (meta.index !== undefined) reply.header("x-consul-index", String(Math.max(1, meta.index)));
  reply.headers({
    "x-consul-knownleader": String(meta.knownLeader),
    "x-consul-lastcontact": String(meta.lastContactMs ?? 0),
  });
  return meta.consistency ? reply.header("x-consul-effective-consistency", meta.consistency) : reply;
}

/** The read mode a request asks for; `?stale` and `?consistent` count by presence, and both is a 400. */
export function consistencyOf(query: unknown): ConsulConsistency {
  const params = (query ?? {}) as object;
  const stale = Object.hasOwn(params, "stale");
  const consistent = Object.hasOwn(params, "consistent");
  if (stale && consistent) throw new BadRequestError("Cannot specify ?stale with ?consistent, conflicting semantics.");
  return consistent ? "consistent" : stale ? "stale" : "leader";
}
