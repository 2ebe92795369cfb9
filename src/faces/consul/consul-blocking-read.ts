import type { FastifyReply, FastifyRequest } from "fastify";
import type { BlockingQueryService, QueryResult } from "../../core/blocking/blocking-query-service.ts";
import type { ClusterService } from "../../core/cluster/cluster-service.ts";
import { parseBlockingQueryParams } from "../../http/blocking-query-params.ts";
import { clientGoneSignal } from "../../http/client-gone-signal.ts";
import { consistencyOf, setConsulQueryMeta } from "./consul-query-meta.ts";

export interface ConsulReadServices {
  readonly blockingQueries: BlockingQueryService;
  readonly cluster: ClusterService;
}

export interface ConsulRead<T> {
  /** Store prefixes whose changes may change the answer. */
  readonly prefixes: readonly string[];
  readonly run: () => Promise<QueryResult<T>>;
}

/**
 * A Consul read: honours `?index=` and `?wait=` (a blocking query that ends early when the client
 * goes away) and `?stale`/`?consistent`, sets X-Consul-Index, the leader and consistency headers,
 * and returns the value to send.
 */
export async function consulBlockingRead<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  services: ConsulReadServices,
  read: ConsulRead<T>,
): Promise<T> {
  const consistency = consistencyOf(request.query);
  const { minIndex, waitMs } = parseBlockingQueryParams(request.query);
  const result = await services.blockingQueries.blockingQuery({
    minIndex,
    waitMs,
    prefixes: read.prefixes,
    run: read.run,
    signal: clientGoneSignal(reply),
  });
  setConsulQueryMeta(reply, {
    index: result.index,
    knownLeader: services.cluster.status().leader !== "",
    consistency,
  });
  return result.value;
}
