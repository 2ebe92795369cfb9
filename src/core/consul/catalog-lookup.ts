/** A health check's state, as Consul names them. */
export type CheckStatus = "passing" | "warning" | "critical";

/** The check every node carries while its agent is alive; a session's default check. */
export const SERF_HEALTH_CHECK = "serfHealth";

/**
 * What sessions need from the catalog: that a session's node is registered and that none of its
 * checks is missing or critical when it is created. The catalog implements it; the session
 * service depends only on this port, so neither imports the other.
 */
export interface CatalogLookup {
  /** The node the master itself is registered as in every datacenter: a session's default Node. */
  localNodeName(): string;
  nodeExists(dc: string, node: string): boolean | Promise<boolean>;
  /** The check's status on that node; undefined when the node has no such check. */
  checkStatus(dc: string, node: string, checkId: string): CheckStatus | undefined | Promise<CheckStatus | undefined>;
}
