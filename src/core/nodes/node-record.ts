import { z } from "zod";
import { nodeFactsSchema, nodeLabelsSchema, resourceUsageSchema } from "../../protocol/node-facts.ts";

// Store layout. Every prefix continues with `<grid>/`, so a removed grid takes all of it along.
export const NODES_PREFIX = "/nodes/";
/** `/node-numbers/<grid>/<n>`: reserves node number n in the grid (lowest free one on join). */
export const NODE_NUMBERS_PREFIX = "/node-numbers/";
/** `/node-links/<grid>/<name>`: present while an agent link is up; on a lease, so a dead master's links lapse. */
export const NODE_LINKS_PREFIX = "/node-links/";
/** `/node-events/<grid>/<name>`: the node's latest container events. */
export const NODE_EVENTS_PREFIX = "/node-events/";

export const nodeKey = (grid: string, name: string): string => `${NODES_PREFIX}${grid}/${name}`;
export const nodeNumberKey = (grid: string, number: number): string => `${NODE_NUMBERS_PREFIX}${grid}/${number}`;
export const nodeLinkKey = (grid: string, name: string): string => `${NODE_LINKS_PREFIX}${grid}/${name}`;
export const nodeEventsKey = (grid: string, name: string): string => `${NODE_EVENTS_PREFIX}${grid}/${name}`;

/** How a node is stored under /nodes/<grid>/<name>. The node token is kept as a hash only. */
export const storedNodeSchema = z.object({
  grid: z.string(),
  name: z.string(),
  node_number: z.number().int(),
  token_sha256: z.string(),
  labels: z.array(z.string()),
  agent_version: z.string(),
  /** As of the agent's latest connect. */
  facts: nodeFactsSchema,
  resource_usage: resourceUsageSchema.nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  /** Last connect, disconnect or usage report. */
  last_seen_at: z.string(),
  /** drain: the scheduler places nothing here and the reconciler moves stateless instances off. */
  availability: z.enum(["active", "drain"]).default("active"),
});
export type StoredNode = z.infer<typeof storedNodeSchema>;

/** `grid/name`, the node's id on the native API. */
export const nodeIdOf = (node: Pick<StoredNode, "grid" | "name">): string => `${node.grid}/${node.name}`;

/** `/instances/<grid>/<node>/<instance>`: what the master wants on the node (the scheduler writes it). */
export const INSTANCES_PREFIX = "/instances/";
/** `/instance-states/<grid>/<node>/<instance>`: what the node's agent last reported. */
export const INSTANCE_STATES_PREFIX = "/instance-states/";

export const nodeInstancesPrefix = (grid: string, name: string): string => `${INSTANCES_PREFIX}${grid}/${name}/`;
export const nodeInstanceStatesPrefix = (grid: string, name: string): string =>
  `${INSTANCE_STATES_PREFIX}${grid}/${name}/`;
/**
 * A node-scoped key, `<prefix><grid>/<node>[/<rest>]`, split up; `rest` is undefined for a key of
 * the node itself. Undefined when the key has no grid and node.
 */
export function splitNodeScopedKey(
  key: string,
  prefix: string,
): { grid: string; node: string; rest: string | undefined } | undefined {
  const [grid, node, ...rest] = key.slice(prefix.length).split("/");
  if (!grid || !node) return undefined;
  return { grid, node, rest: rest.length === 0 ? undefined : rest.join("/") };
}

/** Instance ids (`grid/stack/service/N`) hold slashes, so each becomes one escaped key segment. */
export const instanceSegment = (id: string): string => encodeURIComponent(id);

/** Every prefix of node-owned records; each continues with `<grid>/`, so grid removal takes them along. */
export const NODE_SCOPED_PREFIXES: readonly string[] = [
  NODES_PREFIX,
  NODE_NUMBERS_PREFIX,
  NODE_LINKS_PREFIX,
  NODE_EVENTS_PREFIX,
  INSTANCES_PREFIX,
  INSTANCE_STATES_PREFIX,
];

/** What may change on a node (PUT /v1/nodes/:grid/:name); absent fields stay as they are. */
export const nodeChangesSchema = z.object(
  {
    labels: nodeLabelsSchema.optional(),
    availability: z.enum(["active", "drain"], { error: "must be active or drain" }).optional(),
  },
  { error: "must be an object" },
);
