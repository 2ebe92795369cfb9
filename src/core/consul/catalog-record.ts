/**
 * The service catalog's records, as stored: nodes, the service instances on them and the
 * health checks of both. Consul's catalog is this catalog seen through the Consul face; the
 * services Berth deploys will register their instances here too.
 */

/** Health of a check. "unknown" only when a catalog registration says so (not yet checked). */
export type CheckStatus = "passing" | "warning" | "critical" | "unknown";

export const CHECK_STATUSES: readonly CheckStatus[] = ["passing", "warning", "critical", "unknown"];

/** A string map (node meta, service meta, tagged addresses). */
export type StringMap = { [key: string]: string };

export type CatalogNode = {
  readonly name: string;
  readonly address: string;
  readonly taggedAddresses: StringMap;
  readonly meta: StringMap;
};

/** One instance of a service on a node. */
export type ServiceInstance = {
  readonly node: string;
  /** Unique on its node. */
  readonly id: string;
  readonly name: string;
  /** null when registered without tags (Consul renders it so). */
  readonly tags: string[] | null;
  /** "" means the node's address. */
  readonly address: string;
  readonly port: number;
  readonly meta: StringMap;
  readonly enableTagOverride: boolean;
};

/** How a check the master runs itself finds its status; absent for checks reported from outside. */
export type CheckDefinition =
  | { readonly kind: "ttl"; readonly ttlMs: number }
  | {
      readonly kind: "http";
      readonly url: string;
      readonly method: string;
      readonly header: { [name: string]: string[] };
      readonly tlsSkipVerify: boolean;
      readonly intervalMs: number;
      readonly timeoutMs: number;
    }
  | { readonly kind: "tcp"; readonly address: string; readonly intervalMs: number; readonly timeoutMs: number }
  | { readonly kind: "script"; readonly args: string[]; readonly intervalMs: number; readonly timeoutMs: number };

/** A health check of a node (serviceId "") or of one service instance on it. */
export type HealthCheck = {
  readonly node: string;
  /** Unique on its node. */
  readonly id: string;
  readonly name: string;
  readonly status: CheckStatus;
  readonly notes: string;
  readonly output: string;
  readonly serviceId: string;
  readonly serviceName: string;
  readonly definition: CheckDefinition | null;
};

/** A record with the store revisions at which it was created and last modified. */
export type Indexed<T> = T & { readonly createIndex: number; readonly modifyIndex: number };
