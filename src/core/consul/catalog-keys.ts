/**
 * Where the catalog lives in the store, per datacenter (grid), beside the datacenter's other Consul
 * data (`/consul/<dc>/`, which goes with the grid): one table each for nodes, service instances and
 * checks. Instances and checks sit under their node, so that a node's whole catalog entry is one
 * prefix. Names are URI-encoded, so a "/" in an id stays one segment. (Grid names need no encoding.)
 */

const segment = encodeURIComponent;

export type CatalogTable = "nodes" | "services" | "checks";

/** Everything the catalog holds for a datacenter. */
export function datacenterPrefix(dc: string): string {
  return `/consul/${dc}/catalog/`;
}

/** The prefix of one table of a datacenter. */
export function tablePrefix(dc: string, table: CatalogTable): string {
  return `${datacenterPrefix(dc)}${table}/`;
}

export function nodeKey(dc: string, node: string): string {
  return `${tablePrefix(dc, "nodes")}${segment(node)}`;
}

/** Every service instance (table "services") or check (table "checks") of a node. */
export function nodeEntriesPrefix(dc: string, table: "services" | "checks", node: string): string {
  return `${tablePrefix(dc, table)}${segment(node)}/`;
}

export function serviceKey(dc: string, node: string, serviceId: string): string {
  return `${nodeEntriesPrefix(dc, "services", node)}${segment(serviceId)}`;
}

export function checkKey(dc: string, node: string, checkId: string): string {
  return `${nodeEntriesPrefix(dc, "checks", node)}${segment(checkId)}`;
}
