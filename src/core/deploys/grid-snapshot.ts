import {
  type ActualInstance,
  actualInstanceSchema,
  type DesiredInstance,
  desiredInstanceSchema,
} from "../../protocol/instance-spec.ts";
import type { StateStore } from "../../store/state-store.ts";
import {
  INSTANCE_STATES_PREFIX,
  INSTANCES_PREFIX,
  NODE_LINKS_PREFIX,
  NODES_PREFIX,
  type StoredNode,
  splitNodeScopedKey,
  storedNodeSchema,
} from "../nodes/node-record.ts";
import type { PlacedInstance, SchedulerNode } from "../scheduler/scheduler-types.ts";

/** One desired instance and the node whose desired set holds it. */
export interface DesiredEntry {
  readonly node: string;
  readonly instance: DesiredInstance;
}

/**
 * A grid as one store revision saw it: its nodes, which of them have a live agent link, every
 * desired instance (the placements) and what the agents last reported.
 */
export interface GridSnapshot {
  readonly grid: string;
  readonly revision: number;
  readonly nodes: ReadonlyMap<string, StoredNode>;
  readonly connected: ReadonlySet<string>;
  readonly desired: readonly DesiredEntry[];
  /** Actual states by `<node>\n<instance id>`. */
  readonly actual: ReadonlyMap<string, ActualInstance>;
}

/** The node of a node-scoped key read under its grid's prefix (so it always has one). */
function nodeOfKey(key: string, prefix: string): string {
  return splitNodeScopedKey(key, prefix)?.node ?? "";
}

export function actualKey(node: string, id: string): string {
  return `${node}\n${id}`;
}

/** Reads the grid at one revision, so nodes, links and instances agree with each other. */
export async function readGridSnapshot(store: StateStore, grid: string): Promise<GridSnapshot> {
  const nodesRange = await store.range(`${NODES_PREFIX}${grid}/`, { prefix: true });
  const at = { prefix: true, revision: nodesRange.revision } as const;
  const [links, instances, states] = await Promise.all([
    store.range(`${NODE_LINKS_PREFIX}${grid}/`, { ...at, keysOnly: true }),
    store.range(`${INSTANCES_PREFIX}${grid}/`, at),
    store.range(`${INSTANCE_STATES_PREFIX}${grid}/`, at),
  ]);
  const nodes = new Map<string, StoredNode>();
  for (const kv of nodesRange.kvs) {
    const node = storedNodeSchema.parse(kv.value);
    nodes.set(node.name, node);
  }
  const linkPrefix = `${NODE_LINKS_PREFIX}${grid}/`;
  const actual = new Map<string, ActualInstance>();
  for (const kv of states.kvs) {
    const node = nodeOfKey(kv.key, INSTANCE_STATES_PREFIX);
    const state = actualInstanceSchema.parse(kv.value);
    actual.set(actualKey(node, state.id), state);
  }
  return {
    grid,
    revision: nodesRange.revision,
    nodes,
    connected: new Set(links.kvs.map((kv) => kv.key.slice(linkPrefix.length))),
    desired: instances.kvs.map((kv) => ({
      node: nodeOfKey(kv.key, INSTANCES_PREFIX),
      instance: desiredInstanceSchema.parse(kv.value),
    })),
    actual,
  };
}

/** The desired instances of one service, wherever they are. */
export function serviceEntries(snapshot: GridSnapshot, stack: string | null, service: string): DesiredEntry[] {
  return snapshot.desired
    .filter((entry) => entry.instance.stack === stack && entry.instance.service === service)
    .sort((a, b) => a.instance.instance_number - b.instance.instance_number);
}

/** The scheduler's view of the grid's nodes; instances on nodes that no longer exist hold nothing. */
export function schedulerNodes(snapshot: GridSnapshot): SchedulerNode[] {
  const placed = new Map<string, PlacedInstance[]>();
  for (const { node, instance } of snapshot.desired) {
    if (!snapshot.nodes.has(node)) continue;
    let list = placed.get(node);
    if (list === undefined) {
      list = [];
      placed.set(node, list);
    }
    list.push({
      stack: instance.stack,
      service: instance.service,
      instance: instance.instance_number,
      memory: instance.memory ?? 0,
      ports: instance.ports.flatMap((port) =>
        port.node_port === undefined || port.node_port === 0
          ? []
          : [{ node_port: port.node_port, protocol: port.protocol }],
      ),
    });
  }
  return [...snapshot.nodes.values()].map((node) => ({
    name: node.name,
    labels: node.labels,
    connected: snapshot.connected.has(node.name),
    drained: node.availability === "drain",
    memoryTotal: node.facts.mem_total,
    hostPorts: [],
    instances: placed.get(node.name) ?? [],
  }));
}

/**
 * The snapshot as it will be once other deploys write what they planned: each reserved
 * instance replaces its current copies (a move leaves its old node, an update its old spec).
 */
export function withReserved(snapshot: GridSnapshot, reserved: readonly DesiredEntry[]): GridSnapshot {
  if (reserved.length === 0) return snapshot;
  const replaced = new Set(reserved.map((entry) => entry.instance.id));
  return {
    ...snapshot,
    desired: [
      ...snapshot.desired.filter((entry) => !replaced.has(entry.instance.id)),
      ...reserved.map(({ node, instance }) => ({ node, instance })),
    ],
  };
}
