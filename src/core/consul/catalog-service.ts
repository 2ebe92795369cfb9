import { isDeepStrictEqual } from "node:util";
import type { Compare, JsonValue, KeyValue, StateStore, TxnOp } from "../../store/state-store.ts";
import type { QueryResult } from "../blocking/blocking-query-service.ts";
import { BadRequestError } from "../errors/bad-request-error.ts";
import { ConflictError } from "../errors/conflict-error.ts";
import {
  type CatalogTable,
  checkKey,
  datacenterPrefix,
  nodeEntriesPrefix,
  nodeKey,
  serviceKey,
  tablePrefix,
} from "./catalog-keys.ts";
import type { CatalogLookup, CheckStatus as SessionCheckStatus } from "./catalog-lookup.ts";
import type {
  CatalogNode,
  CheckDefinition,
  CheckStatus,
  HealthCheck,
  Indexed,
  ServiceInstance,
  StringMap,
} from "./catalog-record.ts";

/** What the catalog tells the session service when sessions may have lost their footing. */
export interface SessionInvalidation {
  /** The check went critical or away: sessions that list it end. */
  invalidateForCheck(dc: string, node: string, checkId: string): Promise<void>;
  /** The node left the catalog: its sessions end. */
  invalidateForNode(dc: string, node: string): Promise<void>;
}

export type ServiceRegistration = Omit<ServiceInstance, "node">;

export interface CheckRegistration {
  readonly id: string;
  readonly name: string;
  /** Absent: an existing check keeps its status and output; a new one starts critical. */
  readonly status?: CheckStatus;
  readonly notes: string;
  readonly output?: string;
  /** "" for a node-level check; otherwise a service on the same node (registered before or in the same call). */
  readonly serviceId: string;
  /** How the master runs the check itself; null for checks whose status is reported from outside. */
  readonly definition: CheckDefinition | null;
}

/**
 * One registration: a node, optionally one service instance on it and checks. Nothing that is
 * unchanged is written again, so a caller may re-register the same state (anti-entropy) freely.
 */
export interface CatalogRegistration {
  readonly node: string;
  /** Required to create a node; with skipNodeUpdate an existing node keeps its address, tags and meta. */
  readonly address?: string;
  readonly taggedAddresses?: StringMap;
  readonly nodeMeta?: StringMap;
  readonly skipNodeUpdate?: boolean;
  readonly service?: ServiceRegistration;
  readonly checks?: readonly CheckRegistration[];
  /** Also remove the service's checks that `checks` does not name (the instance's whole health is given). */
  readonly replaceServiceChecks?: boolean;
}

/** Removes a node with everything on it, or only one service instance (with its checks), or one check. */
export interface CatalogDeregistration {
  readonly node: string;
  readonly serviceId?: string;
  readonly checkId?: string;
}

export interface NodeFilter {
  /** Every pair must be in the node's meta. */
  readonly nodeMeta?: StringMap;
}

export interface ServiceFilter extends NodeFilter {
  /** Every tag must be on the instance (compared case-insensitively, as Consul does). */
  readonly tags?: readonly string[];
}

export interface HealthFilter extends ServiceFilter {
  /** Only instances whose every check (node-level ones included) passes. */
  readonly passingOnly?: boolean;
}

/** A service instance with the node it runs on. */
export interface ServiceEntry {
  readonly node: Indexed<CatalogNode>;
  readonly service: Indexed<ServiceInstance>;
}

/** A service instance with its node and the checks that decide its health (its own, then the node's). */
export interface HealthEntry extends ServiceEntry {
  readonly checks: Indexed<HealthCheck>[];
}

export interface NodeServices {
  readonly node: Indexed<CatalogNode>;
  readonly services: Indexed<ServiceInstance>[];
}

/** What a status update found. */
export type CheckUpdateOutcome = "updated" | "unchanged" | "missing" | "redefined";

/** The state of a check as the master runs it: status and output. */
export interface CheckResult {
  readonly status: CheckStatus;
  readonly output: string;
}

export interface CatalogServiceOptions {
  /** The node the master itself is registered as. */
  readonly localNode: string;
  /** Told when a check goes critical or away, or a node leaves (the session service). */
  readonly sessions?: SessionInvalidation;
}

const MAX_ATTEMPTS = 10;

/** A consistent read of some catalog tables of one datacenter. */
interface Snapshot {
  readonly index: number;
  readonly nodes: Map<string, Indexed<CatalogNode>>;
  readonly services: Indexed<ServiceInstance>[];
  readonly checks: Indexed<HealthCheck>[];
}

/** A node's stored entry, read for a change. */
interface NodeState {
  readonly node: KeyValue | undefined;
  readonly services: Map<string, KeyValue>;
  readonly checks: Map<string, KeyValue>;
}

/** Writes a change needs, guarded by the revisions of what it read. */
interface NodePlan {
  readonly compare: Compare[];
  readonly ops: TxnOp[];
  /** Checks written critical or removed, whose sessions end after the write. */
  readonly lostChecks: string[];
  readonly nodeRemoved: boolean;
}

/**
 * The service catalog of every datacenter (grid): nodes, service instances, health checks. The
 * Consul face's catalog, health and agent endpoints read and write it; Berth's own service
 * instances are registered through `register` as well (one call per instance with its node's
 * address, its port, tags and checks, `replaceServiceChecks` set, and `updateCheck` to mirror health).
 */
export class CatalogService implements CatalogLookup {
  readonly #store: StateStore;
  readonly #localNode: string;
  readonly #sessions: SessionInvalidation | undefined;

  constructor(store: StateStore, options: CatalogServiceOptions) {
    this.#store = store;
    this.#localNode = options.localNode;
    this.#sessions = options.sessions;
  }

  /** The prefix whose changes may change any catalog read of the datacenter (for blocking queries). */
  watchPrefix(dc: string): string {
    return datacenterPrefix(dc);
  }

  // --- CatalogLookup ---

  localNodeName(): string {
    return this.#localNode;
  }

  async nodeExists(dc: string, node: string): Promise<boolean> {
    return (await this.#store.get(nodeKey(dc, node))) !== undefined;
  }

  async checkStatus(dc: string, node: string, checkId: string): Promise<SessionCheckStatus | undefined> {
    const status = ((await this.#store.get(checkKey(dc, node, checkId)))?.value as HealthCheck | undefined)?.status;
    // Not yet checked is neither passing nor critical; sessions only refuse critical checks.
    return status === "unknown" ? "warning" : status;
  }

  // --- writes ---

  async register(dc: string, registration: CatalogRegistration): Promise<void> {
    await this.#changeNode(dc, registration.node, (state) => this.#registrationPlan(dc, registration, state));
  }

  /**
   * Whether the registration would create its node or change the node's record (address, tagged
   * addresses, meta) rather than re-post it as it is (Consul's ChangesNode, which decides whether a
   * registration needs node write).
   */
  async changesNode(dc: string, registration: CatalogRegistration): Promise<boolean> {
    const current = (await this.#store.get(nodeKey(dc, registration.node)))?.value;
    if (current === undefined) return true;
    return !registration.skipNodeUpdate && !isDeepStrictEqual(current, nodeRecordOf(registration));
  }

  async deregister(dc: string, deregistration: CatalogDeregistration): Promise<void> {
    await this.#changeNode(dc, deregistration.node, (state) => deregistrationPlan(dc, deregistration, state));
  }

  /**
   * Sets a check's status and output (a check result, a TTL update). With `definition`, only while
   * the check still has that definition ("redefined" otherwise), so a stale runner cannot overwrite.
   */
  async updateCheck(
    dc: string,
    node: string,
    checkId: string,
    result: CheckResult,
    definition?: CheckDefinition,
  ): Promise<CheckUpdateOutcome> {
    let outcome: CheckUpdateOutcome = "unchanged";
    await this.#changeNode(dc, node, (state) => {
      const kv = state.checks.get(checkId);
      const check = kv?.value as HealthCheck | undefined;
      outcome = !kv || !check ? "missing" : "unchanged";
      if (!kv || !check) return undefined;
      if (definition && !isDeepStrictEqual(check.definition, definition)) {
        outcome = "redefined";
        return undefined;
      }
      if (check.status === result.status && check.output === result.output) return undefined;
      outcome = "updated";
      const next: HealthCheck = { ...check, status: result.status, output: result.output };
      return {
        compare: [guard(kv.key, kv)],
        ops: [{ type: "put", key: kv.key, value: next as JsonValue }],
        lostChecks: next.status === "critical" ? [checkId] : [],
        nodeRemoved: false,
      };
    });
    return outcome;
  }

  // --- reads ---

  async nodes(dc: string, filter: NodeFilter = {}): Promise<QueryResult<Indexed<CatalogNode>[]>> {
    const snapshot = await this.#snapshot(dc, ["nodes"]);
    return { index: snapshot.index, value: [...snapshot.nodes.values()].filter((node) => nodeMatches(node, filter)) };
  }

  /** Every service name with the union of its instances' tags. */
  async services(dc: string, filter: NodeFilter = {}): Promise<QueryResult<Map<string, string[]>>> {
    const snapshot = await this.#snapshot(dc, ["nodes", "services"]);
    const tagsByName = new Map<string, Set<string>>();
    for (const { service } of serviceEntries(snapshot, filter)) {
      const tags = tagsByName.get(service.name) ?? new Set<string>();
      for (const tag of service.tags ?? []) tags.add(tag);
      tagsByName.set(service.name, tags);
    }
    const sorted = [...tagsByName].sort(([a], [b]) => compareText(a, b));
    return { index: snapshot.index, value: new Map(sorted.map(([name, tags]) => [name, [...tags].sort(compareText)])) };
  }

  /** The instances of a service, with their nodes. */
  async serviceNodes(dc: string, name: string, filter: ServiceFilter = {}): Promise<QueryResult<ServiceEntry[]>> {
    const snapshot = await this.#snapshot(dc, ["nodes", "services"]);
    return { index: snapshot.index, value: serviceEntries(snapshot, filter, name) };
  }

  /** A node and its service instances; null when the node is not registered. */
  async nodeServices(dc: string, node: string): Promise<QueryResult<NodeServices | null>> {
    const snapshot = await this.#snapshot(dc, ["nodes", "services"]);
    const found = snapshot.nodes.get(node);
    const services = snapshot.services.filter((service) => service.node === node);
    return { index: snapshot.index, value: found ? { node: found, services } : null };
  }

  async nodeChecks(dc: string, node: string): Promise<QueryResult<Indexed<HealthCheck>[]>> {
    const snapshot = await this.#snapshot(dc, ["checks"]);
    return { index: snapshot.index, value: snapshot.checks.filter((check) => check.node === node) };
  }

  /** The checks of every instance of a service. */
  async serviceChecks(dc: string, name: string, filter: NodeFilter = {}): Promise<QueryResult<Indexed<HealthCheck>[]>> {
    const snapshot = await this.#snapshot(dc, ["nodes", "checks"]);
    const checks = snapshot.checks.filter(
      (check) => check.serviceName === name && nodeMatches(snapshot.nodes.get(check.node), filter),
    );
    return { index: snapshot.index, value: checks };
  }

  /** Every check in a state; "any" for all. */
  async checksInState(
    dc: string,
    state: CheckStatus | "any",
    filter: NodeFilter = {},
  ): Promise<QueryResult<Indexed<HealthCheck>[]>> {
    const snapshot = await this.#snapshot(dc, ["nodes", "checks"]);
    const checks = snapshot.checks.filter(
      (check) => (state === "any" || check.status === state) && nodeMatches(snapshot.nodes.get(check.node), filter),
    );
    return { index: snapshot.index, value: checks };
  }

  /** The instances of a service with their nodes and checks. */
  async serviceHealth(dc: string, name: string, filter: HealthFilter = {}): Promise<QueryResult<HealthEntry[]>> {
    const snapshot = await this.#snapshot(dc, ["nodes", "services", "checks"]);
    const checksByNode = Map.groupBy(snapshot.checks, (check) => check.node);
    const entries = serviceEntries(snapshot, filter, name).map((entry) => {
      const nodeChecks = checksByNode.get(entry.node.name) ?? [];
      const own = nodeChecks.filter((check) => check.serviceId === entry.service.id);
      const nodeLevel = nodeChecks.filter((check) => check.serviceId === "");
      return { ...entry, checks: [...own, ...nodeLevel] };
    });
    const value = filter.passingOnly
      ? entries.filter((entry) => entry.checks.every((check) => check.status === "passing"))
      : entries;
    return { index: snapshot.index, value };
  }

  // --- internals ---

  async #snapshot(dc: string, tables: readonly CatalogTable[]): Promise<Snapshot> {
    // The index first, then a read at the current revision: the data is never older than the index.
    const index = Math.max(...tables.map((table) => this.#store.lastChange(tablePrefix(dc, table))));
    const revision = this.#store.currentRevision();
    const read = async <T>(table: CatalogTable): Promise<Indexed<T>[]> => {
      if (!tables.includes(table)) return [];
      const { kvs } = await this.#store.range(tablePrefix(dc, table), { prefix: true, revision });
      return kvs.map((kv) => indexed<T>(kv));
    };
    const [nodes, services, checks] = await Promise.all([
      read<CatalogNode>("nodes"),
      read<ServiceInstance>("services"),
      read<HealthCheck>("checks"),
    ]);
    return {
      index,
      nodes: new Map(nodes.sort((a, b) => compareText(a.name, b.name)).map((node) => [node.name, node])),
      services: services.sort((a, b) => compareText(a.node, b.node) || compareText(a.id, b.id)),
      checks: checks.sort((a, b) => compareText(a.node, b.node) || compareText(a.id, b.id)),
    };
  }

  /**
   * Reads a node's entry, plans a change from it and applies it atomically, guarded by the revisions
   * of what it read (retried when another writer got in between). Then ends the sessions it undermined.
   */
  async #changeNode(dc: string, node: string, plan: (state: NodeState) => NodePlan | undefined): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const change = plan(await this.#nodeState(dc, node));
      if (!change) return;
      const result = await this.#store.txn({ compare: change.compare, success: change.ops });
      if (!result.succeeded) continue;
      if (change.nodeRemoved) await this.#sessions?.invalidateForNode(dc, node);
      for (const checkId of change.lostChecks) await this.#sessions?.invalidateForCheck(dc, node, checkId);
      return;
    }
    throw new ConflictError(`node ${JSON.stringify(node)} is being changed concurrently; try again`);
  }

  async #nodeState(dc: string, node: string): Promise<NodeState> {
    const revision = this.#store.currentRevision();
    const [nodeKv, services, checks] = await Promise.all([
      this.#store.get(nodeKey(dc, node), { revision }),
      this.#store.range(nodeEntriesPrefix(dc, "services", node), { prefix: true, revision }),
      this.#store.range(nodeEntriesPrefix(dc, "checks", node), { prefix: true, revision }),
    ]);
    const byId = <T extends { id: string }>(kvs: KeyValue[]): Map<string, KeyValue> =>
      new Map(kvs.map((kv) => [(kv.value as T).id, kv]));
    return { node: nodeKv, services: byId<ServiceInstance>(services.kvs), checks: byId<HealthCheck>(checks.kvs) };
  }

  #registrationPlan(dc: string, registration: CatalogRegistration, state: NodeState): NodePlan | undefined {
    const { node: name } = registration;
    const compare: Compare[] = [];
    const ops: TxnOp[] = [];
    const lostChecks: string[] = [];
    const write = (key: string, current: KeyValue | undefined, value: JsonValue): void => {
      if (current && isDeepStrictEqual(current.value, value)) return;
      compare.push(guard(key, current));
      ops.push({ type: "put", key, value });
    };

    const existingNode = state.node?.value as CatalogNode | undefined;
    if (!registration.skipNodeUpdate || !existingNode) {
      write(nodeKey(dc, name), state.node, nodeRecordOf(registration));
    } else {
      compare.push(guard(nodeKey(dc, name), state.node));
    }

    const service = registration.service;
    if (service) {
      const instance: ServiceInstance = { ...service, node: name };
      write(serviceKey(dc, name, service.id), state.services.get(service.id), instance as JsonValue);
    }
    const serviceOf = (id: string): ServiceInstance => {
      if (service?.id === id) return { ...service, node: name };
      const kv = state.services.get(id);
      if (!kv) throw new BadRequestError(`Missing service registration: no service ${JSON.stringify(id)} on the node`);
      compare.push(guard(kv.key, kv));
      return kv.value as ServiceInstance;
    };

    const checks = registration.checks ?? [];
    for (const check of checks) {
      const current = state.checks.get(check.id);
      const existing = current?.value as HealthCheck | undefined;
      const status = check.status ?? existing?.status ?? "critical";
      const next: HealthCheck = {
        node: name,
        id: check.id,
        name: check.name,
        status,
        notes: check.notes,
        output: check.output ?? (existing?.status === status ? existing.output : ""),
        serviceId: check.serviceId,
        serviceName: check.serviceId === "" ? "" : serviceOf(check.serviceId).name,
        definition: check.definition,
      };
      write(checkKey(dc, name, check.id), current, next as JsonValue);
      if (status === "critical" && existing?.status !== "critical") lostChecks.push(check.id);
    }

    if (registration.replaceServiceChecks && service) {
      const kept = new Set(checks.map((check) => check.id));
      for (const kv of state.checks.values()) {
        const check = kv.value as HealthCheck;
        if (check.serviceId !== service.id || kept.has(check.id)) continue;
        compare.push(guard(kv.key, kv));
        ops.push({ type: "delete", key: kv.key });
        lostChecks.push(check.id);
      }
    }
    return ops.length === 0 ? undefined : { compare, ops, lostChecks, nodeRemoved: false };
  }
}

/** The node record a registration writes. */
function nodeRecordOf(registration: CatalogRegistration): CatalogNode {
  if (!registration.address) throw new BadRequestError("Must provide address");
  return {
    name: registration.node,
    address: registration.address,
    taggedAddresses: registration.taggedAddresses ?? {},
    meta: registration.nodeMeta ?? {},
  };
}

function deregistrationPlan(dc: string, request: CatalogDeregistration, state: NodeState): NodePlan | undefined {
  const { node, serviceId, checkId } = request;
  if (!state.node) return undefined;
  const removals: KeyValue[] = [];
  if (checkId !== undefined) {
    const kv = state.checks.get(checkId);
    if (kv) removals.push(kv);
  }
  if (serviceId !== undefined) {
    const kv = state.services.get(serviceId);
    if (kv) removals.push(kv);
    for (const check of state.checks.values()) {
      if ((check.value as HealthCheck).serviceId === serviceId) removals.push(check);
    }
  }
  const nodeRemoved = checkId === undefined && serviceId === undefined;
  if (nodeRemoved) removals.push(state.node, ...state.services.values(), ...state.checks.values());
  const unique = [...new Map(removals.map((kv) => [kv.key, kv])).values()];
  if (unique.length === 0) return undefined;
  return {
    compare: unique.map((kv) => guard(kv.key, kv)),
    ops: unique.map((kv) => ({ type: "delete", key: kv.key })),
    lostChecks: nodeRemoved
      ? []
      : unique.filter((kv) => kv.key.startsWith(nodeEntriesPrefix(dc, "checks", node))).map((kv) => checkIdOf(kv)),
    nodeRemoved,
  };
}

function checkIdOf(kv: KeyValue): string {
  return (kv.value as HealthCheck).id;
}

/** Holds while the key is as it was read (absent: still absent). */
function guard(key: string, current: KeyValue | undefined): Compare {
  return { key, target: "mod_revision", op: "==", value: current?.mod_revision ?? 0 };
}

function indexed<T>(kv: KeyValue): Indexed<T> {
  return { ...(kv.value as T), createIndex: kv.create_revision, modifyIndex: kv.mod_revision };
}

function nodeMatches(node: CatalogNode | undefined, filter: NodeFilter): boolean {
  if (!node) return false;
  return Object.entries(filter.nodeMeta ?? {}).every(([key, value]) => node.meta[key] === value);
}

function tagsMatch(service: ServiceInstance, wanted: readonly string[] | undefined): boolean {
  const tags = (service.tags ?? []).map((tag) => tag.toLowerCase());
  return (wanted ?? []).every((tag) => tags.includes(tag.toLowerCase()));
}

function serviceEntries(snapshot: Snapshot, filter: ServiceFilter, name?: string): ServiceEntry[] {
  const entries: ServiceEntry[] = [];
  for (const service of snapshot.services) {
    if (name !== undefined && service.name !== name) continue;
    const node = snapshot.nodes.get(service.node);
    if (!node || !nodeMatches(node, filter) || !tagsMatch(service, filter.tags)) continue;
    entries.push({ node, service });
  }
  return entries;
}

/** Code-unit order, as Consul's (Go's) string order; locale-independent. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
