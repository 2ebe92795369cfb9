import { randomUUID } from "node:crypto";
import { LeaseNotFoundError } from "../../store/errors/lease-not-found-error.ts";
import { StoreClosedError } from "../../store/errors/store-closed-error.ts";
import type { Compare, KeyValue, StateStore, TxnOp, WatchBatch } from "../../store/state-store.ts";
import { ConflictError } from "../errors/conflict-error.ts";
import { OperationFailedError } from "../errors/operation-failed-error.ts";
import { type CatalogLookup, SERF_HEALTH_CHECK } from "./catalog-lookup.ts";
import {
  kvPrefix,
  parseSessionTtlKey,
  SESSION_TTL_ROOT,
  sessionStoreKey,
  sessionsPrefix,
  sessionTtlKey,
} from "./consul-keys.ts";
import { goDurationText } from "./go-duration-text.ts";
import { decodeKvEntry, encodeKvEntry } from "./kv-entry.ts";
import type { WatchableRead } from "./kv-service.ts";
import type { LockDelayTable } from "./lock-delay-table.ts";
import { decodeSession, encodeSession, type Session, type SessionBehavior } from "./session-record.ts";

/** A session to create; what is absent takes Consul's default. */
export interface SessionRequest {
  readonly name?: string;
  /** Default: the master's own node. */
  readonly node?: string;
  /** Default: serfHealth. */
  readonly checks?: readonly string[];
  /** Nanoseconds; default 15 s. */
  readonly lockDelayNs?: number;
  /** "release" (default) or "delete". */
  readonly behavior?: string;
  /** As the client wrote it; "" or absent for none. */
  readonly ttl?: string;
  /** The TTL in nanoseconds; undefined when `ttl` is absent or not a duration. */
  readonly ttlNs?: number;
}

export interface SessionServiceOptions {
  /** Shortest TTL a session may have, ms (Consul's session_ttl_min, 10 s by default). */
  readonly ttlMinMs?: number;
}

const DEFAULT_LOCK_DELAY_NS = 15e9;
const DEFAULT_TTL_MIN_MS = 10_000;
/** Consul's longest session TTL. */
const TTL_MAX_MS = 24 * 3600_000;
/** A TTL session is invalidated when it goes unrenewed for this many TTLs (Consul's multiplier). */
const TTL_MULTIPLIER = 2;
const MAX_ATTEMPTS = 100;

/**
 * Consul sessions, per datacenter: create, renew, destroy, read; and invalidation — on destroy,
 * on TTL expiry, when a linked check goes critical or the node is deregistered — which releases
 * or deletes the keys the session holds and arms their lock delay, all in one store transaction.
 *
 * A TTL session's liveness is a marker key attached to a store lease of TTL×2; renewing keeps
 * the lease alive, and when the store expires it, the marker's deletion triggers invalidation
 * (on start, sessions whose marker is gone are invalidated too, so a crash loses none).
 */
export class SessionService {
  readonly #store: StateStore;
  readonly #lockDelays: LockDelayTable;
  readonly #catalog: CatalogLookup;
  readonly #ttlMinMs: number;

  constructor(
    store: StateStore,
    lockDelays: LockDelayTable,
    catalog: CatalogLookup,
    options: SessionServiceOptions = {},
  ) {
    this.#store = store;
    this.#lockDelays = lockDelays;
    this.#catalog = catalog;
    this.#ttlMinMs = options.ttlMinMs ?? DEFAULT_TTL_MIN_MS;
  }

  /**
   * Starts invalidating TTL sessions as their leases run out, beginning with the sessions of these
   * datacenters whose lease ran out while the master was down (or before it could act).
   */
  async start(datacenters: readonly string[]): Promise<void> {
    this.#store.watch({ key: SESSION_TTL_ROOT, prefix: true }, (batch) => this.#onTtlMarkers(batch));
    for (const dc of datacenters) {
      const { kvs } = await this.#store.range(sessionsPrefix(dc), { prefix: true });
      for (const kv of kvs) {
        const { session, lease } = decodeSession(kv);
        if (lease && !(await this.#store.get(sessionTtlKey(dc, session.id)))) await this.invalidate(dc, session.id);
      }
    }
  }

  /** Creates a session and returns its id. Refusals are Consul's (500, with its message). */
  async create(dc: string, request: SessionRequest): Promise<string> {
    const node = request.node ?? this.#catalog.localNodeName();
    if (node === "") throw new OperationFailedError("Must provide Node");
    const behavior = request.behavior || "release";
    if (!isBehavior(behavior)) {
      throw new OperationFailedError(`Invalid Behavior setting '${behavior}'`);
    }
    const ttl = request.ttl ?? "";
    const ttlMs = this.#ttlMs(ttl, request.ttlNs);
    if (!(await this.#catalog.nodeExists(dc, node))) throw new OperationFailedError("Missing node registration");
    const checks = request.checks ?? [SERF_HEALTH_CHECK];
    for (const check of checks) {
      const status = await this.#catalog.checkStatus(dc, node, check);
      if (status === undefined) throw new OperationFailedError(`Missing check '${check}' registration`);
      if (status === "critical") throw new OperationFailedError(`Check '${check}' is in critical state`);
    }

    const id = randomUUID();
    const fields = {
      id,
      name: request.name ?? "",
      node,
      checks,
      lockDelayNs: request.lockDelayNs ?? DEFAULT_LOCK_DELAY_NS,
      behavior,
      ttl,
    };
    const lease = ttlMs > 0 ? (await this.#store.grantLease((ttlMs * TTL_MULTIPLIER) / 1000)).id : 0;
    const success: TxnOp[] = [{ type: "put", key: sessionStoreKey(dc, id), value: encodeSession(fields, lease) }];
    if (lease) success.push({ type: "put", key: sessionTtlKey(dc, id), value: null, lease });
    await this.#store.txn({ compare: [], success });
    return id;
  }

  /** Invalidates the session; destroying one that does not exist is no error. */
  destroy(dc: string, id: string): Promise<void> {
    return this.invalidate(dc, id);
  }

  /** Restarts a TTL session's clock; undefined when the session does not exist (or just expired). */
  async renew(dc: string, id: string): Promise<Session | undefined> {
    const found = await this.#read(dc, id);
    if (!found?.lease) return found?.session;
    try {
      await this.#store.keepAlive(found.lease);
      return found.session;
    } catch (error) {
      if (!(error instanceof LeaseNotFoundError)) throw error;
      await this.invalidate(dc, id);
      return undefined;
    }
  }

  info(dc: string, id: string): WatchableRead<Session | undefined> {
    return this.#query(dc, async () => (await this.#read(dc, id))?.session);
  }

  list(dc: string): WatchableRead<Session[]> {
    return this.#query(dc, () => this.#all(dc));
  }

  nodeSessions(dc: string, node: string): WatchableRead<Session[]> {
    return this.#query(dc, async () => (await this.#all(dc)).filter((session) => session.node === node));
  }

  /**
   * Ends the session: deletes it and, in the same transaction, releases (or, with behavior
   * "delete", deletes) every key it holds; then arms those keys' lock delay. Idempotent.
   */
  async invalidate(dc: string, id: string): Promise<void> {
    const key = sessionStoreKey(dc, id);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const kv = await this.#store.get(key);
      if (!kv) return;
      const { session, lease } = decodeSession(kv);
      const held = await this.#heldKeys(dc, id);
      const compare: Compare[] = [kv, ...held].map((record) => ({
        key: record.key,
        target: "mod_revision",
        op: "==",
        value: record.mod_revision,
      }));
      const success: TxnOp[] = [{ type: "delete", key }];
      for (const record of held) {
        if (session.behavior === "delete") success.push({ type: "delete", key: record.key });
        else {
          const entry = decodeKvEntry(record, kvPrefix(dc).length);
          success.push({ type: "put", key: record.key, value: encodeKvEntry({ ...entry, session: "" }) });
        }
      }
      if (!(await this.#store.txn({ compare, success })).succeeded) continue;
      // Armed before anything else can run, so no acquisition slips in between.
      for (const record of held) {
        this.#lockDelays.arm(dc, record.key.slice(kvPrefix(dc).length), session.lockDelayNs / 1e6);
      }
      if (lease) await this.#store.revokeLease(lease).catch(ignoreLeaseGone);
      return;
    }
    throw new ConflictError(`session ${id} is being changed concurrently; try again`);
  }

  /** Invalidates the node's sessions that list the check: it went critical or was deregistered. */
  async invalidateForCheck(dc: string, node: string, checkId: string): Promise<void> {
    for (const session of await this.#all(dc)) {
      if (session.node === node && session.checks.includes(checkId)) await this.invalidate(dc, session.id);
    }
  }

  /** Invalidates every session of the node: it was deregistered. */
  async invalidateForNode(dc: string, node: string): Promise<void> {
    for (const session of await this.#all(dc)) {
      if (session.node === node) await this.invalidate(dc, session.id);
    }
  }

  /** Sessions are read with the index of the datacenter's session table, deletions included. */
  #query<T>(dc: string, read: () => Promise<T>): WatchableRead<T> {
    return {
      prefixes: [sessionsPrefix(dc)],
      run: async () => ({ value: await read(), index: Math.max(1, this.#store.lastChange(sessionsPrefix(dc))) }),
    };
  }

  async #read(dc: string, id: string): Promise<ReturnType<typeof decodeSession> | undefined> {
    if (id === "" || id.includes("/")) return undefined;
    const kv = await this.#store.get(sessionStoreKey(dc, id));
    return kv && decodeSession(kv);
  }

  async #all(dc: string): Promise<Session[]> {
    const { kvs } = await this.#store.range(sessionsPrefix(dc), { prefix: true });
    return kvs.map((kv) => decodeSession(kv).session);
  }

  /** The datacenter's KV records locked by the session (a scan: invalidation is rare). */
  async #heldKeys(dc: string, id: string): Promise<KeyValue[]> {
    const { kvs } = await this.#store.range(kvPrefix(dc), { prefix: true });
    return kvs.filter((kv) => decodeKvEntry(kv, 0).session === id);
  }

  /** The TTL in ms (0 for none), refused as Consul refuses it. */
  #ttlMs(ttl: string, ttlNs: number | undefined): number {
    if (ttl === "") return 0;
    if (ttlNs === undefined)
      throw new OperationFailedError(`Session TTL '${ttl}' invalid: time: invalid duration "${ttl}"`);
    const ms = ttlNs / 1e6;
    if (ms !== 0 && (ms < this.#ttlMinMs || ms > TTL_MAX_MS)) {
      throw new OperationFailedError(
        `Invalid Session TTL '${ttlNs}', must be between [${goDurationText(this.#ttlMinMs * 1e6)}=${goDurationText(TTL_MAX_MS * 1e6)}]`,
      );
    }
    return ms;
  }

  #onTtlMarkers(batch: WatchBatch): void {
    for (const event of batch.events) {
      const marker = event.type === "delete" ? parseSessionTtlKey(event.kv.key) : undefined;
      if (!marker) continue;
      this.invalidate(marker.dc, marker.id).catch((error: unknown) => {
        if (error instanceof StoreClosedError) return;
        process.emitWarning(
          `invalidating expired session ${marker.id} failed: ${String(error)}`,
          "BerthSessionWarning",
        );
      });
    }
  }
}

const isBehavior = (behavior: string): behavior is SessionBehavior => behavior === "release" || behavior === "delete";

function ignoreLeaseGone(error: unknown): void {
  if (!(error instanceof LeaseNotFoundError)) throw error;
}
