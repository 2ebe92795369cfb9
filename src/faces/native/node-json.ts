import type { NodeView } from "../../core/nodes/node-view.ts";
import { gridJson } from "./grid-json.ts";

/** A node as the spec shows it, its grid embedded the way the spec's node example has it. */
export function nodeJson(node: NodeView) {
  const { id, name, initial_size, stats, trusted_subnets } = gridJson(node.grid);
  return { ...node, grid: { id, name, initial_size, stats, trusted_subnets } };
}
