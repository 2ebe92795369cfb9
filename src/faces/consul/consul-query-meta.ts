import type { FastifyReply } from "fastify";

/** What Consul reports about the read behind a response. */
export interface ConsulQueryMeta {
  /** The index for the client's next blocking query; never 0. */
  readonly index: number;
  readonly knownLeader: boolean;
  /** Ms since the leader was last heard from; 0 on the leader itself. */
  readonly lastContactMs?: number;
}

/** Sets X-Consul-Index, X-Consul-KnownLeader and X-Consul-LastContact, as every Consul read does. */
export function setConsulQueryMeta(reply: FastifyReply, meta: ConsulQueryMeta): FastifyReply {
  return reply.headers({
    "x-consul-index": String(Math.max(1, meta.index)),
    "x-consul-knownleader": String(meta.knownLeader),
    "x-consul-lastcontact": String(meta.lastContactMs ?? 0),
  });
}
