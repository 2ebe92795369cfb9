import type { ActualInstance, DesiredInstance } from "../../protocol/instance-spec.ts";
import type { StateStore, WatchEvent, Watcher } from "../../store/state-store.ts";
import {
  INSTANCE_STATES_PREFIX,
  INSTANCES_PREFIX,
  instanceSegment,
  NODES_PREFIX,
  nodeInstanceStatesPrefix,
  nodeInstancesPrefix,
  nodeKey,
  type StoredNode,
  splitNodeScopedKey,
} from "../nodes/node-record.ts";
import { containerName } from "../scheduler/placement-grid.ts";
import { parseInstanceId } from "../services/service-record.ts";
import {
  nodeKey as catalogNodeKey,
  serviceKey as catalogServiceKey,
  nodeEntriesPrefix,
  tablePrefix,
} from "./catalog-keys.ts";
import type { CatalogNode, CheckStatus, ServiceInstance } from "./catalog-record.ts";
import type { CatalogRegistration, CatalogService } from "./catalog-service.ts";

/** Service meta naming the Berth instance a catalog entry stands for: only such entries are this sync's. */
export const BERTH_INSTANCE_META = "berth_instance";
/** Node meta of a catalog node this sync created for a Berth node (`grid/name`). */
export const BERTH_NODE_META = "berth_node";

/** The datacenters to sweep on start: the grids. */
export interface DatacenterList {
  list(): Promise<string[]>;
}

export interface InstanceCatalogSyncOptions {
  /** Told about a failed registration; it is tried again a second later. */
  readonly onError?: (error: unknown) => void;
  /** Delay before a failed item is tried again, ms. */
  readonly retryMs?: number;
}

/** One thing to bring in step: an instance on a node, or a node as a whole. */
type Item =
  | { readonly kind: "instance"; readonly grid: string; readonly node: string; readonly segment: string }
  | { readonly kind: "node"; readonly grid: string; readonly node: string };

function itemKey(item: Item): string {
  return item.kind === "instance" ? `i\0${item.grid}\0${item.node}\0${item.segment}` : `n\0${item.grid}\0${item.node}`;
}

/** `grid/stack/service/N` → its container name (the catalog service id), when the id has that shape. */
function containerNameOf(instanceId: string): string | undefined {
  const parsed = parseInstanceId(instanceId);
  return parsed && containerName(parsed.stack, parsed.service, parsed.instance);
}

/** How the catalog check mirrors the instance's health. */
function checkStatusOf(desired: DesiredInstance, actual: ActualInstance): CheckStatus {
  switch (actual.health) {
    case "passing":
      return "passing";
    case "critical":
      return "critical";
    case "starting":
      return "warning";
    default:
      // Without a health check, running is healthy; with one not yet reported, it is not known yet.
      return desired.health_check === null ? "passing" : "warning";
  }
}

function firstPort(desired: DesiredInstance): number {
  const [port] = desired.ports;
  if (!port) return 0;
  return port.node_port !== undefined && port.node_port > 0 ? port.node_port : port.container_port;
}

/**
 * Keeps Berth's own instances in the Consul catalog: every instance whose agent reports it
 * running appears in its grid's datacenter on a catalog node named as its Berth node (with the
 * node's address), as service {ID: container name, Service: service name, Port: first port,
 * Tags: stack:<stack>, grid:<grid>} with a check `service:<container>` mirroring its health; it
 * is deregistered once it stops running, is no longer desired or its node is removed.
 *
 * Event-driven (watches on desired sets, reported states and nodes), with a full sweep on start.
 * Each item is re-read and brought in step as the store has it now, so order and repeats do not
 * matter; the catalog writes nothing that is unchanged. Only entries marked as this sync's (meta
 * berth_instance) are ever removed, and a catalog node registered through the Consul API keeps its
 * own address and meta.
 */
export class InstanceCatalogSync {
  readonly #store: StateStore;
  readonly #catalog: CatalogService;
  readonly #datacenters: DatacenterList;
  readonly #onError: (error: unknown) => void;
  readonly #retryMs: number;
  readonly #dirty = new Map<string, Item>();
  readonly #retries = new Set<NodeJS.Timeout>();
  #watchers: Watcher[] = [];
  #working: Promise<void> | undefined;
  #stopped = false;

  constructor(
    store: StateStore,
    catalog: CatalogService,
    datacenters: DatacenterList,
    options: InstanceCatalogSyncOptions = {},
  ) {
    this.#store = store;
    this.#catalog = catalog;
    this.#datacenters = datacenters;
    this.#onError = options.onError ?? (() => {});
    this.#retryMs = options.retryMs ?? 1000;
  }

  /** Follows changes from now on, and brings everything there is in step once. */
  async start(): Promise<void> {
    const instanceEvents = (prefix: string) => (event: WatchEvent) => {
      const parts = splitNodeScopedKey(event.kv.key, prefix);
      if (parts?.rest !== undefined)
        this.#mark({ kind: "instance", grid: parts.grid, node: parts.node, segment: parts.rest });
    };
    const onDesired = instanceEvents(INSTANCES_PREFIX);
    const onActual = instanceEvents(INSTANCE_STATES_PREFIX);
    this.#watchers = [
      this.#store.watch({ key: INSTANCES_PREFIX, prefix: true }, (batch) => batch.events.forEach(onDesired)),
      this.#store.watch({ key: INSTANCE_STATES_PREFIX, prefix: true }, (batch) => batch.events.forEach(onActual)),
      this.#store.watch({ key: NODES_PREFIX, prefix: true, prevKv: true }, (batch) => {
        for (const event of batch.events) this.#nodeChanged(event);
      }),
    ];
    await this.#sweep();
  }

  /** Stops following changes and waits for the item in hand. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const watcher of this.#watchers) watcher.cancel();
    for (const timer of this.#retries) clearTimeout(timer);
    this.#retries.clear();
    this.#dirty.clear();
    await this.#working;
  }

  /** Resolves once nothing is waiting to be brought in step (for callers that wrote and want to read). */
  async idle(): Promise<void> {
    while (this.#working) await this.#working;
  }

  /** Every desired or reported instance, every entry this sync registered, every node it created. */
  async #sweep(): Promise<void> {
    const [desired, actual] = await Promise.all([
      this.#store.range(INSTANCES_PREFIX, { prefix: true, keysOnly: true }),
      this.#store.range(INSTANCE_STATES_PREFIX, { prefix: true, keysOnly: true }),
    ]);
    for (const [prefix, kvs] of [
      [INSTANCES_PREFIX, desired.kvs],
      [INSTANCE_STATES_PREFIX, actual.kvs],
    ] as const) {
      for (const kv of kvs) {
        const parts = splitNodeScopedKey(kv.key, prefix);
        if (parts?.rest !== undefined)
          this.#mark({ kind: "instance", grid: parts.grid, node: parts.node, segment: parts.rest });
      }
    }
    for (const dc of await this.#datacenters.list()) {
      const services = await this.#store.range(tablePrefix(dc, "services"), { prefix: true });
      for (const kv of services.kvs) {
        const service = kv.value as ServiceInstance;
        const instance = service.meta?.[BERTH_INSTANCE_META];
        if (instance !== undefined)
          this.#mark({ kind: "instance", grid: dc, node: service.node, segment: instanceSegment(instance) });
      }
      const nodes = await this.#store.range(tablePrefix(dc, "nodes"), { prefix: true });
      for (const kv of nodes.kvs) {
        const node = kv.value as CatalogNode;
        if (node.meta?.[BERTH_NODE_META] !== undefined) this.#mark({ kind: "node", grid: dc, node: node.name });
      }
    }
  }

  /** A node's address change moves its instances' entries; its removal takes its catalog node along. */
  #nodeChanged(event: WatchEvent): void {
    const parts = splitNodeScopedKey(event.kv.key, NODES_PREFIX);
    if (!parts || parts.rest !== undefined) return;
    const { grid, node } = parts;
    if (event.type === "delete") {
      this.#mark({ kind: "node", grid, node });
      return;
    }
    const now = event.kv.value as StoredNode;
    const before = event.prev?.value as StoredNode | undefined;
    if (before && now.facts.private_ip === before.facts.private_ip && now.facts.public_ip === before.facts.public_ip)
      return;
    this.#mark({ kind: "node", grid, node });
  }

  #mark(item: Item): void {
    if (this.#stopped) return;
    this.#dirty.set(itemKey(item), item);
    this.#kick();
  }

  #kick(): void {
    if (this.#working || this.#stopped) return;
    this.#working = this.#drain().finally(() => {
      this.#working = undefined;
      if (this.#dirty.size > 0) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    // Let the watch batch that marked this finish marking first.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (!this.#stopped) {
      const next = this.#dirty.entries().next();
      if (next.done) return;
      const [key, item] = next.value;
      this.#dirty.delete(key);
      try {
        await (item.kind === "instance" ? this.#syncInstance(item) : this.#syncNode(item.grid, item.node));
      } catch (error) {
        if (this.#stopped) return;
        this.#onError(error);
        const timer = setTimeout(() => {
          this.#retries.delete(timer);
          this.#mark(item);
        }, this.#retryMs);
        timer.unref();
        this.#retries.add(timer);
      }
    }
  }

  async #syncInstance(item: Extract<Item, { kind: "instance" }>): Promise<void> {
    const { grid, node, segment } = item;
    const instanceId = decodeURIComponent(segment);
    const [desiredKv, actualKv, nodeKv] = await Promise.all([
      this.#store.get(nodeInstancesPrefix(grid, node) + segment),
      this.#store.get(nodeInstanceStatesPrefix(grid, node) + segment),
      this.#store.get(nodeKey(grid, node)),
    ]);
    const desired = desiredKv?.value as DesiredInstance | undefined;
    const actual = actualKv?.value as ActualInstance | undefined;
    const berthNode = nodeKv?.value as StoredNode | undefined;
    const address = berthNode ? berthNode.facts.private_ip || berthNode.facts.public_ip : "";
    if (desired && berthNode && address !== "" && actual?.state === "running") {
      await this.#register(grid, berthNode, address, desired, actual);
      return;
    }
    const serviceId = desired?.name ?? containerNameOf(instanceId);
    if (serviceId !== undefined) await this.#deregisterOwn(grid, node, serviceId, instanceId);
  }

  async #register(
    grid: string,
    node: StoredNode,
    address: string,
    desired: DesiredInstance,
    actual: ActualInstance,
  ): Promise<void> {
    const existing = (await this.#store.get(catalogNodeKey(grid, node.name)))?.value as CatalogNode | undefined;
    const nodeId = `${grid}/${node.name}`;
    // A node someone registered through the Consul API keeps its own record; ours follows the Berth node.
    const ownNode = existing === undefined || existing.meta?.[BERTH_NODE_META] === nodeId;
    const checkId = `service:${desired.name}`;
    const registration: CatalogRegistration = {
      node: node.name,
      address,
      taggedAddresses: Object.fromEntries(
        Object.entries({ lan: node.facts.private_ip, wan: node.facts.public_ip }).filter(([, ip]) => ip !== ""),
      ),
      nodeMeta: { [BERTH_NODE_META]: nodeId },
      skipNodeUpdate: !ownNode,
      service: {
        id: desired.name,
        name: desired.service,
        tags: [`stack:${desired.stack ?? "null"}`, `grid:${grid}`],
        address,
        port: firstPort(desired),
        meta: { [BERTH_INSTANCE_META]: desired.id },
        enableTagOverride: false,
      },
      checks: [
        {
          id: checkId,
          name: `Service '${desired.service}' check`,
          status: checkStatusOf(desired, actual),
          notes: `Health of Berth instance ${desired.id}, as its agent reports it`,
          output: actual.health_output ?? (desired.health_check === null ? "running" : ""),
          serviceId: desired.name,
          definition: null,
        },
      ],
      replaceServiceChecks: true,
    };
    await this.#catalog.register(grid, registration);
  }

  /** Removes the entry only when it is this sync's entry for that instance. */
  async #deregisterOwn(grid: string, node: string, serviceId: string, instanceId: string): Promise<void> {
    const entry = (await this.#store.get(catalogServiceKey(grid, node, serviceId)))?.value as
      | ServiceInstance
      | undefined;
    if (entry?.meta?.[BERTH_INSTANCE_META] !== instanceId) return;
    await this.#catalog.deregister(grid, { node, serviceId });
  }

  /**
   * A node that still exists: its instances' entries follow its address. A removed one: its
   * entries go (its instance records went with it), then its catalog node, if it is ours and empty.
   */
  async #syncNode(grid: string, node: string): Promise<void> {
    const berthNode = await this.#store.get(nodeKey(grid, node));
    const registered = await this.#store.range(nodeEntriesPrefix(grid, "services", node), { prefix: true });
    const ownInstances = registered.kvs
      .map((kv) => (kv.value as ServiceInstance).meta?.[BERTH_INSTANCE_META])
      .filter((id) => id !== undefined);
    if (berthNode) {
      const desired = await this.#store.range(nodeInstancesPrefix(grid, node), { prefix: true, keysOnly: true });
      const segments = new Set([
        ...desired.kvs.map((kv) => kv.key.slice(nodeInstancesPrefix(grid, node).length)),
        ...ownInstances.map(instanceSegment),
      ]);
      for (const segment of segments) this.#mark({ kind: "instance", grid, node, segment });
      return;
    }
    for (const kv of registered.kvs) {
      const service = kv.value as ServiceInstance;
      const instance = service.meta?.[BERTH_INSTANCE_META];
      if (instance !== undefined) await this.#deregisterOwn(grid, node, service.id, instance);
    }
    const catalogNode = (await this.#store.get(catalogNodeKey(grid, node)))?.value as CatalogNode | undefined;
    if (catalogNode?.meta?.[BERTH_NODE_META] !== `${grid}/${node}`) return;
    const left = await this.#store.range(nodeEntriesPrefix(grid, "services", node), { prefix: true, countOnly: true });
    if (left.count === 0) await this.#catalog.deregister(grid, { node });
  }
}
