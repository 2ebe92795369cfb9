import type { NodeFacts, ResourceUsage } from "../../protocol/node-facts.ts";
import type { Grid, GridView } from "../grids/grid-record.ts";
import { nodeIdOf, type StoredNode } from "./node-record.ts";

/** A node as core hands it out: the native API's node (spec "Nodes"), with its grid embedded. */
export type NodeView = NodeFacts & {
  readonly id: string;
  readonly name: string;
  readonly connected: boolean;
  readonly created_at: string;
  readonly updated_at: string;
  readonly last_seen_at: string;
  readonly node_number: number;
  /** node_number ≤ the grid's initial_size. */
  readonly initial_node: boolean;
  readonly agent_version: string;
  readonly labels: readonly string[];
  /** drain: nothing new is placed here and stateless instances are moved off. */
  readonly availability: StoredNode["availability"];
  /** Private addresses of the grid's other nodes. */
  readonly peer_ips: readonly string[];
  /** null until the agent's first sample. */
  readonly resource_usage: ResourceUsage | null;
  /** The grid, without its token. */
  readonly grid: GridView;
};

export function toNodeView(node: StoredNode, grid: Grid, connected: boolean, peers: readonly StoredNode[]): NodeView {
  const peerIps = peers.filter((peer) => peer.name !== node.name).map((peer) => peer.facts.private_ip);
  return {
    id: nodeIdOf(node),
    ...node.facts,
    name: node.name,
    connected,
    created_at: node.created_at,
    updated_at: node.updated_at,
    last_seen_at: node.last_seen_at,
    node_number: node.node_number,
    initial_node: node.node_number <= grid.initial_size,
    agent_version: node.agent_version,
    labels: node.labels,
    availability: node.availability,
    peer_ips: [...new Set(peerIps)].filter((ip) => ip !== "" && ip !== node.facts.private_ip),
    resource_usage: node.resource_usage,
    grid: withoutToken(grid),
  };
}

function withoutToken(grid: Grid): GridView {
  const { token: _token, ...rest } = grid;
  return rest;
}
