import type { StateStore, WatchEvent, Watcher } from "../../store/state-store.ts";
import {
  NODE_LINKS_PREFIX,
  NODES_PREFIX,
  nodeKey,
  nodeLinkKey,
  type StoredNode,
  splitNodeScopedKey,
} from "../nodes/node-record.ts";
import type { OperationService } from "../operations/operation-service.ts";
import {
  DEFAULT_RESCHEDULE_GRACE,
  type MovableStrategy,
  OfflineGraceTimers,
  type RescheduleGrace,
} from "./offline-grace-timers.ts";
import { ServiceRescheduler } from "./service-rescheduler.ts";

export interface ReconcilerOptions {
  readonly grace?: RescheduleGrace;
  /**
   * Seconds after the master starts before a node found offline then counts as past its grace:
   * while this master was down its agents could not connect, so they get their reconnect
   * backoff's worth (30 s) to come back first. Tests set 0.
   */
  readonly reconnectAllowanceSeconds?: number;
  /** Told about a failed reaction (the store closing, a conflict); the next event or start tries again. */
  readonly onError?: (error: unknown) => void;
}

/** The node whose own key (`<prefix><grid>/<name>`, nothing after) this is. */
function nodeOf(key: string, prefix: string): { grid: string; name: string } | undefined {
  const parts = splitNodeScopedKey(key, prefix);
  return parts && parts.rest === undefined ? { grid: parts.grid, name: parts.node } : undefined;
}

/**
 * The master's reaction to nodes changing (issue "Reconciler"): it submits deploys, and the
 * deployer and scheduler do the moving.
 * - A node offline (no agent link) past a strategy's grace period: deploys of its running ha or
 *   random services, which move their stateless instances elsewhere. Daemon instances belong to
 *   their node and stateful ones wait for it (the scheduler keeps them there), so neither is
 *   deployed. A node back before the grace ends cancels it.
 * - A node drained: deploys of its running non-stateful services at once.
 * - A node connecting (or set active again): deploys of the grid's daemon services missing on it.
 * - A node removed: deploys of the services that had instances on it (stateful ones included:
 *   their node is gone for good).
 */
export class Reconciler {
  readonly #store: StateStore;
  readonly #rescheduler: ServiceRescheduler;
  readonly #timers: OfflineGraceTimers;
  readonly #reconnectAllowanceMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #inFlight = new Set<Promise<void>>();
  #watchers: Watcher[] = [];
  #stopped = false;

  constructor(store: StateStore, operations: OperationService, options: ReconcilerOptions = {}) {
    this.#store = store;
    this.#rescheduler = new ServiceRescheduler(store, operations);
    this.#timers = new OfflineGraceTimers(options.grace ?? DEFAULT_RESCHEDULE_GRACE, (grid, node, strategy, since) =>
      this.#track(() => this.#graceExpired(grid, node, strategy, since)),
    );
    this.#reconnectAllowanceMs = (options.reconnectAllowanceSeconds ?? 30) * 1000;
    this.#onError = options.onError ?? (() => {});
  }

  /** Looks at every node as it is now (offline ones since their last_seen_at, drained ones), then follows changes. */
  async start(): Promise<void> {
    const startedAt = Date.now();
    const nodes = await this.#store.range(NODES_PREFIX, { prefix: true });
    const links = await this.#store.range(NODE_LINKS_PREFIX, {
      prefix: true,
      keysOnly: true,
      revision: nodes.revision,
    });
    const connected = new Set(links.kvs.map((kv) => kv.key));
    const drained: StoredNode[] = [];
    for (const kv of nodes.kvs) {
      const node = kv.value as StoredNode;
      if (!connected.has(nodeLinkKey(node.grid, node.name))) {
        const lastSeen = Date.parse(node.last_seen_at);
        this.#timers.offline(node.grid, node.name, lastSeen, startedAt + this.#reconnectAllowanceMs);
      }
      if (node.availability === "drain") drained.push(node);
    }
    // Changes after the read, so that none falls in between.
    const fromRevision = nodes.revision + 1;
    this.#watchers = [
      this.#store.watch({ key: NODE_LINKS_PREFIX, prefix: true, fromRevision }, (batch) => {
        for (const event of batch.events) this.#linkChanged(event);
      }),
      this.#store.watch({ key: NODES_PREFIX, prefix: true, fromRevision, prevKv: true }, (batch) => {
        for (const event of batch.events) this.#nodeChanged(event, batch.revision);
      }),
    ];
    // A drain whose deploys a stopped master never submitted (a deploy of a node already empty moves nothing).
    for (const node of drained) this.#track(() => this.#drained(node.grid, node.name));
  }

  /** Stops following nodes and waits for the reactions under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const watcher of this.#watchers) watcher.cancel();
    this.#timers.clear();
    await Promise.all(this.#inFlight);
  }

  /** Timers are set and cleared right here, in event order; only the submitting is asynchronous. */
  #linkChanged(event: WatchEvent): void {
    const node = nodeOf(event.kv.key, NODE_LINKS_PREFIX);
    if (!node || this.#stopped) return;
    if (event.type === "delete") {
      this.#timers.offline(node.grid, node.name, Date.now());
      return;
    }
    this.#timers.cancel(node.grid, node.name);
    // A new link (not a re-put of a live one): the node connected.
    if (event.kv.version === 1) this.#track(() => this.#daemonsFor(node.grid, node.name, "connected"));
  }

  #nodeChanged(event: WatchEvent, revision: number): void {
    const node = nodeOf(event.kv.key, NODES_PREFIX);
    if (!node || this.#stopped) return;
    if (event.type === "delete") {
      this.#timers.cancel(node.grid, node.name);
      this.#track(() => this.#removed(node.grid, node.name, revision - 1));
      return;
    }
    const now = (event.kv.value as StoredNode).availability;
    const before = (event.prev?.value as StoredNode | undefined)?.availability ?? "active";
    if (now === "drain" && before !== "drain") this.#track(() => this.#drained(node.grid, node.name));
    if (now === "active" && before === "drain") this.#track(() => this.#daemonsFor(node.grid, node.name, "active"));
  }

  async #graceExpired(grid: string, name: string, strategy: MovableStrategy, sinceMs: number): Promise<void> {
    // Checked again now: the link may be back (its event not yet seen) or the node gone.
    const [node, link] = await Promise.all([
      this.#store.get(nodeKey(grid, name)),
      this.#store.get(nodeLinkKey(grid, name)),
    ]);
    if (!node || link) return;
    const services = await this.#rescheduler.servicesOnNode(grid, name, { strategies: [strategy], stateful: false });
    const seconds = Math.round((Date.now() - sinceMs) / 1000);
    const cause = `node ${name} offline`;
    await this.#rescheduler.deploy(services, cause, `${cause} for ${seconds}s`);
  }

  async #drained(grid: string, name: string): Promise<void> {
    const node = (await this.#store.get(nodeKey(grid, name)))?.value as StoredNode | undefined;
    if (node?.availability !== "drain") return;
    const services = await this.#rescheduler.servicesOnNode(grid, name, {
      strategies: ["ha", "random", "daemon"],
      stateful: false,
    });
    const reason = `node ${name} drained`;
    await this.#rescheduler.deploy(services, reason, reason);
  }

  async #daemonsFor(grid: string, name: string, what: "connected" | "active"): Promise<void> {
    const node = (await this.#store.get(nodeKey(grid, name)))?.value as StoredNode | undefined;
    if (node?.availability !== "active") return;
    const reason = `node ${name} ${what}`;
    await this.#rescheduler.deploy(await this.#rescheduler.daemonsMissingOn(grid, name), reason, reason);
  }

  /** The node's instances were deleted with it; they are read as of just before. */
  async #removed(grid: string, name: string, revision: number): Promise<void> {
    const services = await this.#rescheduler.servicesOnNode(
      grid,
      name,
      { strategies: ["ha", "random"], stateful: true },
      revision,
    );
    const reason = `node ${name} removed`;
    await this.#rescheduler.deploy(services, reason, reason);
  }

  #track(reaction: () => Promise<void>): void {
    if (this.#stopped) return;
    const running: Promise<void> = reaction()
      .catch((error: unknown) => {
        if (!this.#stopped) this.#onError(error);
      })
      .finally(() => this.#inFlight.delete(running));
    this.#inFlight.add(running);
  }
}
