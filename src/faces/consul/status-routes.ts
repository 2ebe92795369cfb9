import type { FastifyInstance } from "fastify";
import type { ClusterService } from "../../core/cluster/cluster-service.ts";
import { setConsulQueryMeta } from "./consul-query-meta.ts";

/** `/v1/status`: the leader and peers, as "host:port" strings. Public, as in Consul: no token is checked. */
export function registerStatusRoutes(app: FastifyInstance, cluster: ClusterService): void {
  app.get("/v1/status/leader", { config: { public: true } }, async (_request, reply) => {
    const status = cluster.status();
    setConsulQueryMeta(reply, { index: status.index, knownLeader: status.leader !== "" });
    return reply.type("application/json").send(JSON.stringify(status.leader));
  });

  app.get("/v1/status/peers", { config: { public: true } }, async (_request, reply) => {
    const status = cluster.status();
    setConsulQueryMeta(reply, { index: status.index, knownLeader: status.leader !== "" });
    return status.peers;
  });
}
