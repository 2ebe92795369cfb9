import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import {
  type ActualInstance,
  actualInstanceSchema,
  type DesiredInstance,
  type DesiredInstanceInput,
  desiredInstanceSchema,
} from "../../protocol/instance-spec.ts";
import type { Compare, JsonValue, StateStore, TxnOp, Watcher } from "../../store/state-store.ts";
import { ConflictError } from "../errors/conflict-error.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import { ValidationError } from "../errors/validation-error.ts";
import { parseInput } from "../validation/parse-input.ts";
import {
  INSTANCE_STATES_PREFIX,
  INSTANCES_PREFIX,
  instanceSegment,
  nodeInstanceStatesPrefix,
  nodeInstancesPrefix,
  nodeKey,
} from "./node-record.ts";

const MAX_ATTEMPTS = 10;

/** A node's desired set as of one store revision. */
export interface DesiredSnapshot {
  readonly revision: number;
  readonly instances: DesiredInstance[];
}

/** A desired instance where it is placed, with its node's latest report of it. */
export interface GridInstance {
  readonly node: string;
  readonly desired: DesiredInstance;
  readonly actual: ActualInstance | null;
}

/** Changes to a node's desired set in one store revision. */
export interface DesiredChange {
  readonly revision: number;
  readonly put: DesiredInstance[];
  /** Ids of instances no longer desired. */
  readonly delete: string[];
}

/** Incremental changes to desired sets across a grid's nodes (the deployer's writes). */
export interface DesiredChanges {
  readonly put: readonly { readonly node: string; readonly instance: DesiredInstanceInput }[];
  readonly delete: readonly { readonly node: string; readonly id: string }[];
}

const desiredSetSchema = z.array(desiredInstanceSchema, { error: "must be an array of instances" });

/**
 * The instances each node should run (desired, written by the scheduler through setDesired) and
 * what its agent last reported (actual). The agent link reads a node's desired set as a snapshot
 * and then follows it with a watch from the snapshot's revision, so no change falls in between.
 */
export class NodeInstanceService {
  readonly #store: StateStore;
  /** Per node key: the tail of its queue of setDesired calls. */
  readonly #queues = new Map<string, Promise<void>>();

  constructor(store: StateStore) {
    this.#store = store;
  }

  /**
   * Makes `instances` the node's whole desired set, in one transaction: instances left out are
   * no longer desired; unchanged ones are not rewritten. Returns the store revision after it.
   */
  setDesired(grid: string, node: string, instances: readonly DesiredInstanceInput[]): Promise<number> {
    // One at a time per node on this master (an instance added by a concurrent call would
    // escape the compares below); across masters only the elected scheduler writes.
    const key = nodeKey(grid, node);
    const result = (this.#queues.get(key) ?? Promise.resolve()).then(() => this.#setDesired(grid, node, instances));
    const settled = result.then(
      () => {},
      () => {},
    );
    this.#queues.set(key, settled);
    void settled.then(() => {
      if (this.#queues.get(key) === settled) this.#queues.delete(key);
    });
    return result;
  }

  async #setDesired(grid: string, node: string, instances: readonly DesiredInstanceInput[]): Promise<number> {
    const parsed = parseInput(desiredSetSchema, instances);
    const fields: Record<string, string> = {};
    const ids = new Set<string>();
    parsed.forEach((instance, index) => {
      if (instance.grid !== grid) fields[`${index}.grid`] = `must be ${grid}, the node's grid`;
      if (ids.has(instance.id)) fields[`${index}.id`] = `repeats instance ${instance.id}`;
      ids.add(instance.id);
    });
    if (Object.keys(fields).length > 0) throw new ValidationError(fields);

    const prefix = nodeInstancesPrefix(grid, node);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const nodeKv = await this.#store.get(nodeKey(grid, node));
      if (!nodeKv) throw new NotFoundError(`node ${grid}/${node} not found`);
      const current = await this.#store.range(prefix, { prefix: true });
      const existing = new Map(current.kvs.map((kv) => [kv.key, kv.value]));
      const ops: TxnOp[] = [];
      const wanted = new Set<string>();
      for (const instance of parsed) {
        const key = prefix + instanceSegment(instance.id);
        wanted.add(key);
        if (!isDeepStrictEqual(existing.get(key), instance))
          ops.push({ type: "put", key, value: instance as JsonValue });
      }
      for (const key of existing.keys()) if (!wanted.has(key)) ops.push({ type: "delete", key });
      if (ops.length === 0) return current.revision;
      const result = await this.#store.txn({
        compare: [
          { key: nodeKv.key, target: "create_revision", op: "==", value: nodeKv.create_revision },
          ...current.kvs.map(
            (kv): Compare => ({ key: kv.key, target: "mod_revision", op: "==", value: kv.mod_revision }),
          ),
        ],
        success: ops,
      });
      if (result.succeeded) return result.revision;
    }
    throw new ConflictError(`the desired instances of node ${grid}/${node} are being changed concurrently; try again`);
  }

  /**
   * Puts and deletes desired instances across the grid's nodes in one transaction (a moved
   * instance leaves its old node in the same revision as it lands on the new one). Every node
   * written to must still exist. Returns the store revision after it.
   */
  async applyChanges(grid: string, changes: DesiredChanges): Promise<number> {
    const ops: TxnOp[] = [];
    const nodes = new Set<string>();
    for (const { node, instance } of changes.put) {
      const parsed = desiredInstanceSchema.parse(instance);
      if (parsed.grid !== grid) throw new ValidationError({ grid: `must be ${grid}, the node's grid` });
      nodes.add(node);
      ops.push({
        type: "put",
        key: nodeInstancesPrefix(grid, node) + instanceSegment(parsed.id),
        value: parsed as JsonValue,
      });
    }
    for (const { node, id } of changes.delete)
      ops.push({ type: "delete", key: nodeInstancesPrefix(grid, node) + instanceSegment(id) });
    if (ops.length === 0) return this.#store.currentRevision();
    const result = await this.#store.txn({
      compare: [...nodes].map((node): Compare => ({ key: nodeKey(grid, node), target: "version", op: ">", value: 0 })),
      success: ops,
    });
    if (!result.succeeded) throw new NotFoundError(`a node of grid ${grid} to place instances on no longer exists`);
    return result.revision;
  }

  /** The node's desired set now, with the revision it was read at. */
  async snapshot(grid: string, node: string): Promise<DesiredSnapshot> {
    const result = await this.#store.range(nodeInstancesPrefix(grid, node), { prefix: true });
    return { revision: result.revision, instances: result.kvs.map((kv) => desiredInstanceSchema.parse(kv.value)) };
  }

  /** Follows changes to the node's desired set from `fromRevision` on, one call per revision. */
  watchDesired(grid: string, node: string, fromRevision: number, listener: (change: DesiredChange) => void): Watcher {
    const prefix = nodeInstancesPrefix(grid, node);
    return this.#store.watch({ key: prefix, prefix: true, fromRevision }, (batch) => {
      const change: DesiredChange = { revision: batch.revision, put: [], delete: [] };
      for (const event of batch.events) {
        if (event.type === "put") change.put.push(desiredInstanceSchema.parse(event.kv.value));
        else change.delete.push(decodeURIComponent(event.kv.key.slice(prefix.length)));
      }
      listener(change);
    });
  }

  /**
   * Stores what the agent reported. `complete`: the report lists every instance the node has,
   * so states not in it are dropped; otherwise only the listed ones change. An instance reported
   * "removed" is dropped. Nothing is written for a node that no longer exists.
   */
  async recordActual(
    grid: string,
    node: string,
    instances: readonly ActualInstance[],
    complete: boolean,
  ): Promise<void> {
    const prefix = nodeInstanceStatesPrefix(grid, node);
    const ops = new Map<string, TxnOp>();
    if (complete) {
      const current = await this.#store.range(prefix, { prefix: true, keysOnly: true });
      for (const kv of current.kvs) ops.set(kv.key, { type: "delete", key: kv.key });
    }
    for (const instance of instances) {
      const key = prefix + instanceSegment(instance.id);
      ops.set(
        key,
        instance.state === "removed" ? { type: "delete", key } : { type: "put", key, value: instance as JsonValue },
      );
    }
    if (ops.size === 0) return;
    await this.#store.txn({
      compare: [{ key: nodeKey(grid, node), target: "create_revision", op: ">", value: 0 }],
      success: [...ops.values()],
    });
  }

  /** What the node's agent last reported, by instance id. */
  async actual(grid: string, node: string): Promise<ActualInstance[]> {
    const result = await this.#store.range(nodeInstanceStatesPrefix(grid, node), { prefix: true });
    return result.kvs.map((kv) => actualInstanceSchema.parse(kv.value));
  }

  /**
   * Every desired instance of the grid with its node (the node whose set holds it) and what that
   * node's agent last reported for it (null before any report), both read at one revision.
   */
  async gridInstances(grid: string): Promise<GridInstance[]> {
    const desired = await this.#store.range(`${INSTANCES_PREFIX}${grid}/`, { prefix: true });
    const states = await this.#store.range(`${INSTANCE_STATES_PREFIX}${grid}/`, {
      prefix: true,
      revision: desired.revision,
    });
    // `<node>/<encoded id>` after the grid's prefix on both sides.
    const actualByKey = new Map(
      states.kvs.map((kv) => [
        kv.key.slice(INSTANCE_STATES_PREFIX.length + grid.length + 1),
        actualInstanceSchema.parse(kv.value),
      ]),
    );
    return desired.kvs.map((kv) => {
      const nodeAndId = kv.key.slice(INSTANCES_PREFIX.length + grid.length + 1);
      return {
        node: nodeAndId.slice(0, nodeAndId.indexOf("/")),
        desired: desiredInstanceSchema.parse(kv.value),
        actual: actualByKey.get(nodeAndId) ?? null,
      };
    });
  }
}
