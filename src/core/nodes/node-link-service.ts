import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { ContainerEvent } from "../../protocol/link-messages.ts";
import { type NodeFacts, nodeNameSchema, type ResourceUsage } from "../../protocol/node-facts.ts";
import { LeaseNotFoundError } from "../../store/errors/lease-not-found-error.ts";
import type { JsonValue, StateStore, Watcher } from "../../store/state-store.ts";
import { ConflictError } from "../errors/conflict-error.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import { type Grid, gridNameSchema } from "../grids/grid-record.ts";
import type { GridService } from "../grids/grid-service.ts";
import { updateRecord } from "../records/update-record.ts";
import { AdmissionRefusedError } from "./admission-refused-error.ts";
import {
  NODE_NUMBERS_PREFIX,
  nodeEventsKey,
  nodeKey,
  nodeLinkKey,
  nodeNumberKey,
  type StoredNode,
  storedNodeSchema,
} from "./node-record.ts";

/** Random bytes in a node token. */
const TOKEN_BYTES = 32;
const MAX_ATTEMPTS = 10;
/** Container events kept per node (the newest). */
export const NODE_EVENTS_KEPT = 100;

const sha256 = (text: string): Buffer => createHash("sha256").update(text).digest();

/** What an agent says about itself when it (re)joins. */
export interface AgentHello {
  readonly name: string;
  readonly labels: readonly string[];
  readonly facts: NodeFacts;
  readonly agentVersion: string;
}

/** A node's live link, as recorded in the store. */
export interface NodeLinkLease {
  readonly grid: string;
  readonly name: string;
  leaseId: number;
}

/**
 * Nodes as their agents see them: admission (grid token → new node and node token; node
 * token → the node again), presence (a leased link record while the agent is connected, so a
 * master that dies takes its links' `connected` with it) and the reports the agent sends.
 */
export class NodeLinkService {
  readonly #store: StateStore;
  readonly #grids: GridService;
  readonly #linkTtlSeconds: number;

  /** `linkTtlSeconds`: how long a link record outlives the last keep-alive (a master that died). */
  constructor(store: StateStore, grids: GridService, linkTtlSeconds = 30) {
    this.#store = store;
    this.#grids = grids;
    this.#linkTtlSeconds = linkTtlSeconds;
  }

  /** The grid a join token opens. */
  async admitGridToken(token: string): Promise<Grid> {
    const grid = await this.#grids.findByToken(token);
    if (!grid) {
      throw new AdmissionRefusedError(
        "grid_token",
        "the grid token matches no grid (mistyped, or rotated since): pass the grid's current token",
      );
    }
    return grid;
  }

  /** The node a node token belongs to. */
  async admitNodeToken(grid: string, name: string, token: string): Promise<StoredNode> {
    const valid = gridNameSchema.safeParse(grid).success && nodeNameSchema.safeParse(name).success;
    const kv = valid ? await this.#store.get(nodeKey(grid, name)) : undefined;
    if (!kv) {
      throw new AdmissionRefusedError(
        "node_deleted",
        `node ${grid}/${name} no longer exists (it was deleted): remove the agent's stored identity to join as a new node`,
      );
    }
    const node = storedNodeSchema.parse(kv.value);
    if (!timingSafeEqual(Buffer.from(node.token_sha256, "hex"), sha256(token))) {
      throw new AdmissionRefusedError(
        "node_token",
        `the token is not node ${grid}/${name}'s token: remove the agent's stored identity and join with the grid token`,
      );
    }
    return node;
  }

  /**
   * Creates a node in the grid under the lowest free node number; returns it with its token
   * (shown once, stored as a hash). A name already taken in the grid is refused, unless the
   * node runs on the same Docker engine (same node_id): that is the same host joining again
   * (its agent lost the stored identity, or never received it), so it takes the node over with
   * a new token, and the old token stops working.
   */
  async join(grid: Grid, hello: AgentHello): Promise<{ node: StoredNode; token: string }> {
    const key = nodeKey(grid.name, hello.name);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const token = randomBytes(TOKEN_BYTES).toString("base64url");
      const now = new Date().toISOString();
      const existing = await this.#store.get(key);
      if (existing) {
        const node = storedNodeSchema.parse(existing.value);
        if (node.facts.node_id !== hello.facts.node_id) {
          throw new AdmissionRefusedError(
            "name_taken",
            `grid ${grid.name} already has a node named ${hello.name} on another Docker engine: start the agent with another --name, or delete that node first`,
          );
        }
        const rejoined: StoredNode = { ...node, token_sha256: sha256(token).toString("hex"), updated_at: now };
        const result = await this.#store.txn({
          compare: [{ key, target: "mod_revision", op: "==", value: existing.mod_revision }],
          success: [{ type: "put", key, value: rejoined as JsonValue }],
        });
        if (result.succeeded) return { node: rejoined, token };
        continue;
      }
      const guard = await this.#grids.guard(grid.name).catch((error: unknown) => {
        throw error instanceof NotFoundError
          ? new AdmissionRefusedError("grid_token", `grid ${grid.name} was removed`)
          : error;
      });
      const number = await this.#lowestFreeNumber(grid.name);
      const node: StoredNode = {
        grid: grid.name,
        name: hello.name,
        node_number: number,
        token_sha256: sha256(token).toString("hex"),
        labels: [...hello.labels],
        agent_version: hello.agentVersion,
        facts: hello.facts,
        resource_usage: null,
        created_at: now,
        updated_at: now,
        last_seen_at: now,
        availability: "active",
      };
      const numberKey = nodeNumberKey(grid.name, number);
      const result = await this.#store.txn({
        compare: [
          guard,
          { key, target: "create_revision", op: "==", value: 0 },
          { key: numberKey, target: "create_revision", op: "==", value: 0 },
        ],
        success: [
          { type: "put", key, value: node as JsonValue },
          { type: "put", key: numberKey, value: { name: hello.name } },
        ],
      });
      if (result.succeeded) return { node, token };
    }
    throw new ConflictError(`grid ${grid.name} is admitting nodes concurrently; try again`);
  }

  async exists(grid: string, name: string): Promise<boolean> {
    return (await this.#store.get(nodeKey(grid, name))) !== undefined;
  }

  /** Calls `onDeleted` once the node's record is deleted (from `fromRevision` on). */
  watchDeletion(grid: string, name: string, fromRevision: number, onDeleted: () => void): Watcher {
    return this.#store.watch({ key: nodeKey(grid, name), fromRevision }, (batch) => {
      if (batch.events.some((event) => event.type === "delete")) onDeleted();
    });
  }

  /**
   * Records the agent's connect: its facts and version, and a leased link record that makes the
   * node `connected` until disconnect() or the lease lapses.
   */
  async connect(grid: string, name: string, facts: NodeFacts, agentVersion: string): Promise<NodeLinkLease> {
    await this.#change(grid, name, (node, now) => ({
      ...node,
      facts,
      agent_version: agentVersion,
      updated_at: now,
      last_seen_at: now,
    }));
    const link: NodeLinkLease = { grid, name, leaseId: 0 };
    await this.#putLink(link);
    return link;
  }

  /** Renews the link's lease; puts the link record again if the lease lapsed meanwhile (a stalled master). */
  async keepAlive(link: NodeLinkLease): Promise<void> {
    try {
      await this.#store.keepAlive(link.leaseId);
    } catch (error) {
      if (!(error instanceof LeaseNotFoundError)) throw error;
      await this.#putLink(link);
    }
  }

  /** The link is gone: the node is no longer connected; it was last seen now. */
  async disconnect(link: NodeLinkLease): Promise<void> {
    await this.#store.revokeLease(link.leaseId).catch((error: unknown) => {
      if (!(error instanceof LeaseNotFoundError)) throw error;
    });
    await this.#change(link.grid, link.name, (node, now) => ({ ...node, last_seen_at: now })).catch(
      (error: unknown) => {
        if (!(error instanceof AdmissionRefusedError)) throw error;
      },
    );
  }

  async recordUsage(grid: string, name: string, usage: ResourceUsage): Promise<void> {
    await this.#change(grid, name, (node, now) => ({ ...node, resource_usage: usage, last_seen_at: now }));
  }

  /** Keeps the node's newest NODE_EVENTS_KEPT container events. */
  async recordEvents(grid: string, name: string, events: readonly ContainerEvent[]): Promise<void> {
    if (!(await this.#store.get(nodeKey(grid, name)))) return;
    await updateRecord(this.#store, nodeEventsKey(grid, name), (kv) => {
      const previous = ((kv?.value as { events?: ContainerEvent[] } | undefined)?.events ?? []) as ContainerEvent[];
      return { events: [...previous, ...events].slice(-NODE_EVENTS_KEPT) } as JsonValue;
    });
  }

  async #putLink(link: NodeLinkLease): Promise<void> {
    const lease = await this.#store.grantLease(this.#linkTtlSeconds);
    link.leaseId = lease.id;
    const result = await this.#store.txn({
      compare: [{ key: nodeKey(link.grid, link.name), target: "create_revision", op: ">", value: 0 }],
      success: [
        {
          type: "put",
          key: nodeLinkKey(link.grid, link.name),
          value: { since: new Date().toISOString() },
          lease: lease.id,
        },
      ],
    });
    if (!result.succeeded) {
      await this.#store.revokeLease(lease.id);
      throw this.#deleted(link.grid, link.name);
    }
  }

  async #change(grid: string, name: string, change: (node: StoredNode, now: string) => StoredNode): Promise<void> {
    await updateRecord(this.#store, nodeKey(grid, name), (kv) => {
      if (!kv) throw this.#deleted(grid, name);
      return change(storedNodeSchema.parse(kv.value), new Date().toISOString()) as JsonValue;
    });
  }

  #deleted(grid: string, name: string): AdmissionRefusedError {
    return new AdmissionRefusedError("node_deleted", `node ${grid}/${name} was deleted`);
  }

  async #lowestFreeNumber(grid: string): Promise<number> {
    const prefix = `${NODE_NUMBERS_PREFIX}${grid}/`;
    const taken = new Set(
      (await this.#store.range(prefix, { prefix: true, keysOnly: true })).kvs.map((kv) =>
        Number(kv.key.slice(prefix.length)),
      ),
    );
    let number = 1;
    while (taken.has(number)) number++;
    return number;
  }
}
