import { isDeepStrictEqual } from "node:util";
import { nodeNameSchema } from "../../protocol/node-facts.ts";
import type { JsonValue, StateStore } from "../../store/state-store.ts";
import { assertGridAdmin, assertGridMember } from "../auth/access-policy.ts";
import type { Principal } from "../auth/principal.ts";
import { ConflictError } from "../errors/conflict-error.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import type { GridService } from "../grids/grid-service.ts";
import { updateRecord } from "../records/update-record.ts";
import { parseInput } from "../validation/parse-input.ts";
import {
  NODE_LINKS_PREFIX,
  NODES_PREFIX,
  nodeChangesSchema,
  nodeEventsKey,
  nodeInstanceStatesPrefix,
  nodeInstancesPrefix,
  nodeKey,
  nodeLinkKey,
  nodeNumberKey,
  type StoredNode,
  storedNodeSchema,
} from "./node-record.ts";
import { type NodeView, toNodeView } from "./node-view.ts";

const MAX_ATTEMPTS = 10;

/**
 * Nodes as users see them (spec "Nodes"): list, show, relabel, delete. Members of a grid read
 * its nodes; changing or deleting one takes master_admin or the grid's grid_admin. Agents
 * create and refresh node records through NodeLinkService.
 */
export class NodeService {
  readonly #store: StateStore;
  readonly #grids: GridService;

  constructor(store: StateStore, grids: GridService) {
    this.#store = store;
    this.#grids = grids;
  }

  /** The grid's nodes by node number. Throws NotFoundError for an unknown grid. */
  async list(principal: Principal, gridName: string): Promise<NodeView[]> {
    assertGridMember(principal, gridName);
    return this.#views(gridName);
  }

  async show(principal: Principal, gridName: string, name: string): Promise<NodeView> {
    assertGridMember(principal, gridName);
    return this.#view(gridName, name);
  }

  /**
   * Changes the node's labels (`{labels: ["key=value", …]}` replaces them all) and availability
   * (`drain`: the reconciler moves its stateless instances off); absent fields stay.
   */
  async update(principal: Principal, gridName: string, name: string, input: unknown): Promise<NodeView> {
    assertGridAdmin(principal, gridName);
    const changes = parseInput(nodeChangesSchema, input);
    await this.#grids.get(gridName);
    await updateRecord(this.#store, this.#key(gridName, name), (kv) => {
      if (!kv) throw this.#notFound(gridName, name);
      const node = storedNodeSchema.parse(kv.value);
      const labels = changes.labels ?? node.labels;
      const availability = changes.availability ?? node.availability;
      if (isDeepStrictEqual(labels, node.labels) && availability === node.availability) return undefined;
      const changed: StoredNode = { ...node, labels, availability, updated_at: new Date().toISOString() };
      return changed as JsonValue;
    });
    return this.#view(gridName, name);
  }

  /**
   * Unregisters the node, in one transaction with everything it owns: desired and reported
   * instances, its events, its link record. Its agent is refused from then on; the host and its
   * containers are left alone.
   */
  async remove(principal: Principal, gridName: string, name: string): Promise<void> {
    assertGridAdmin(principal, gridName);
    await this.#grids.get(gridName);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const kv = await this.#store.get(this.#key(gridName, name));
      if (!kv) throw this.#notFound(gridName, name);
      const node = storedNodeSchema.parse(kv.value);
      const result = await this.#store.txn({
        compare: [{ key: kv.key, target: "mod_revision", op: "==", value: kv.mod_revision }],
        success: [
          { type: "delete", key: kv.key },
          { type: "delete", key: nodeNumberKey(gridName, node.node_number) },
          { type: "delete", key: nodeLinkKey(gridName, name) },
          { type: "delete", key: nodeEventsKey(gridName, name) },
          { type: "delete", key: nodeInstancesPrefix(gridName, name), prefix: true },
          { type: "delete", key: nodeInstanceStatesPrefix(gridName, name), prefix: true },
        ],
      });
      if (result.succeeded) return;
    }
    throw new ConflictError(`node ${gridName}/${name} is being changed concurrently; try again`);
  }

  async #view(gridName: string, name: string): Promise<NodeView> {
    this.#key(gridName, name);
    const view = (await this.#views(gridName)).find((node) => node.name === name);
    if (!view) throw this.#notFound(gridName, name);
    return view;
  }

  async #views(gridName: string): Promise<NodeView[]> {
    const grid = await this.#grids.get(gridName);
    const nodes = await this.#store.range(`${NODES_PREFIX}${gridName}/`, { prefix: true });
    // Links as of the same revision, so `connected` agrees with the records read.
    const links = await this.#store.range(`${NODE_LINKS_PREFIX}${gridName}/`, {
      prefix: true,
      keysOnly: true,
      revision: nodes.revision,
    });
    const connected = new Set(links.kvs.map((kv) => kv.key.slice(NODE_LINKS_PREFIX.length)));
    const stored = nodes.kvs
      .map((kv) => storedNodeSchema.parse(kv.value))
      .sort((a, b) => a.node_number - b.node_number);
    return stored.map((node) => toNodeView(node, grid, connected.has(`${gridName}/${node.name}`), stored));
  }

  /** The node's store key; a name no node can have is simply not found. */
  #key(gridName: string, name: string): string {
    if (!nodeNameSchema.safeParse(name).success) throw this.#notFound(gridName, name);
    return nodeKey(gridName, name);
  }

  #notFound(gridName: string, name: string): NotFoundError {
    return new NotFoundError(`node ${gridName}/${name} not found`);
  }
}
