import { randomInt } from "node:crypto";
import { InvalidArgumentError } from "../../store/errors/invalid-argument-error.ts";
import { LeaseNotFoundError } from "../../store/errors/lease-not-found-error.ts";
import { StoreClosedError } from "../../store/errors/store-closed-error.ts";
import { StoreError } from "../../store/errors/store-error.ts";
import { freezeJsonValue } from "../../store/json-value.ts";
import { assertValidKey, assertValidPrefix } from "../../store/key-rules.ts";
import { MemoryView } from "../../store/memory-view.ts";
import type {
  Compare,
  DeleteOptions,
  DeleteResult,
  JsonValue,
  KeyValue,
  LeaseGrant,
  LeaseInfo,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeResult,
  StateStore,
  TxnOp,
  TxnOpResult,
  TxnRequest,
  TxnResult,
  WatchBatch,
  WatchEvent,
  Watcher,
  WatchOptions,
} from "../../store/state-store.ts";
import { WatchHub } from "../../store/watch-hub.ts";
import { type LeaseRecord, SqliteJournal } from "./sqlite-journal.ts";

export interface EmbeddedStoreOptions {
  /** The SQLite file; its directory is created when missing. */
  readonly path: string;
  /** Keep this many revisions of history and compact older ones automatically; 0 turns it off. */
  readonly retainRevisions?: number;
  /** How often lease deadlines are checked, in ms. */
  readonly leaseCheckIntervalMs?: number;
  /**
   * Called once if a commit fails (disk full, I/O error). The store then refuses all work:
   * crash-only, because the file on disk, not memory, is the truth a restart recovers.
   */
  readonly onFatal?: (error: Error) => void;
}

interface WriteJob {
  readonly run: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

const MAX_LEASE_ID = 2 ** 48;

/**
 * The default backend: one SQLite file, with every read and watch served from memory.
 *
 * Writes queue up and are committed together in one SQLite transaction per event-loop turn
 * (group commit): concurrent writers share one fsync, and each promise resolves only after
 * the COMMIT that made its write durable. Because node:sqlite is synchronous, a whole batch —
 * evaluating compares, applying to the view, writing and committing — runs without
 * interruption, so no reader ever sees a write before it is durable.
 */
export class EmbeddedStore implements StateStore {
  readonly #journal: SqliteJournal;
  #view: MemoryView;
  readonly #hub: WatchHub;
  readonly #leases = new Map<number, LeaseRecord>();
  readonly #revoking = new Set<number>();
  readonly #options: EmbeddedStoreOptions;
  readonly #leaseTimer: NodeJS.Timeout;
  #queue: WriteJob[] = [];
  #flushScheduled = false;
  /** Events of the batch being committed, by revision, published only after COMMIT. */
  #unpublished: { revision: number; events: WatchEvent[] }[] = [];
  #closed = false;
  #commits = 0;
  #drained: (() => void) | undefined;

  private constructor(journal: SqliteJournal, options: EmbeddedStoreOptions) {
    this.#journal = journal;
    this.#options = options;
    const contents = journal.load();
    this.#view = MemoryView.fromChanges(contents.changes, contents.revision, contents.compactRevision);
    for (const lease of contents.leases) this.#leases.set(lease.id, lease);
    this.#hub = new WatchHub(() => this.#view);
    this.#leaseTimer = setInterval(() => this.#expireLeases(), options.leaseCheckIntervalMs ?? 250);
    this.#leaseTimer.unref();
    // Leases that ran out while the store was closed go now, not a tick later.
    this.#expireLeases();
  }

  static async open(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
    return new EmbeddedStore(new SqliteJournal(options.path), options);
  }

  /** Number of live watchers (for diagnostics and benchmarks). */
  get watcherCount(): number {
    return this.#hub.size;
  }

  /** SQLite transactions committed so far; with group commit, far fewer than writes. */
  get commitCount(): number {
    return this.#commits;
  }

  currentRevision(): number {
    return this.#view.revision;
  }

  compactRevision(): number {
    return this.#view.compactRevision;
  }

  async get(key: string, options: Omit<RangeOptions, "prefix"> = {}): Promise<KeyValue | undefined> {
    this.#assertOpen();
    assertValidKey(key);
    return this.#view.range(key, { ...options, prefix: false }).kvs[0];
  }

  async range(key: string, options: RangeOptions = {}): Promise<RangeResult> {
    this.#assertOpen();
    if (options.prefix) assertValidPrefix(key);
    else assertValidKey(key);
    return this.#view.range(key, options);
  }

  lastChange(prefix: string): number {
    this.#assertOpen();
    assertValidPrefix(prefix);
    return this.#view.lastChange(prefix);
  }

  async put(key: string, value: JsonValue, options: PutOptions = {}): Promise<PutResult> {
    const result = await this.txn({ compare: [], success: [{ type: "put", key, value, ...options }] });
    const { type: _type, ...put } = result.results[0] as TxnOpResult & { type: "put" };
    return put;
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    const result = await this.txn({ compare: [], success: [{ type: "delete", key, ...options }] });
    const { type: _type, ...deleted } = result.results[0] as TxnOpResult & { type: "delete" };
    return deleted;
  }

  async txn(request: TxnRequest): Promise<TxnResult> {
    this.#assertOpen();
    const compare = request.compare.map(validateCompare);
    const success = validateOps(request.success, "success");
    const failure = validateOps(request.failure ?? [], "failure");
    return this.#enqueue(() => this.#applyTxn(compare, success, failure));
  }

  watch(options: WatchOptions, listener: (batch: WatchBatch) => void): Watcher {
    this.#assertOpen();
    if (options.prefix) assertValidPrefix(options.key);
    else assertValidKey(options.key);
    const from = options.fromRevision;
    if (from !== undefined && (!Number.isInteger(from) || from < 1)) {
      throw new InvalidArgumentError("fromRevision must be a positive integer");
    }
    return this.#hub.watch(options, listener);
  }

  async grantLease(ttlSeconds: number, id?: number): Promise<LeaseGrant> {
    this.#assertOpen();
    if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
      throw new InvalidArgumentError("lease TTL must be a positive number of seconds");
    if (id !== undefined && (!Number.isSafeInteger(id) || id < 1))
      throw new InvalidArgumentError("lease id must be a positive integer");
    return this.#enqueue(() => {
      const leaseId = id ?? this.#newLeaseId();
      if (this.#leases.has(leaseId)) throw new InvalidArgumentError(`lease ${leaseId} already exists`);
      this.#saveLease({ id: leaseId, ttl: ttlSeconds, expiresAt: Date.now() + ttlSeconds * 1000 });
      return { id: leaseId, ttl: ttlSeconds };
    });
  }

  async keepAlive(id: number): Promise<LeaseGrant> {
    this.#assertOpen();
    return this.#enqueue(() => {
      const lease = this.#liveLease(id);
      this.#saveLease({ ...lease, expiresAt: Date.now() + lease.ttl * 1000 });
      return { id, ttl: lease.ttl };
    });
  }

  async revokeLease(id: number): Promise<void> {
    this.#assertOpen();
    await this.#enqueue(() => {
      if (!this.#leases.has(id)) throw new LeaseNotFoundError(id);
      this.#revokeNow(id);
    });
  }

  leaseInfo(id: number): LeaseInfo | undefined {
    this.#assertOpen();
    const lease = this.#leases.get(id);
    if (!lease) return undefined;
    const remaining = Math.max(0, (lease.expiresAt - Date.now()) / 1000);
    return { id, ttl: lease.ttl, remaining, keys: this.#view.keysOfLease(id) };
  }

  async compact(revision: number): Promise<void> {
    this.#assertOpen();
    if (!Number.isInteger(revision) || revision < 1)
      throw new InvalidArgumentError("revision must be a positive integer");
    await this.#enqueue(() => this.#compactNow(revision));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#leaseTimer);
    if (this.#queue.length > 0 || this.#flushScheduled) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
    }
    this.#hub.clear();
    this.#journal.close();
  }

  // ---- write path -------------------------------------------------------

  #enqueue<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // setImmediate, not a microtask: it lets every request read in this I/O phase join the batch.
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const jobs = this.#queue;
    this.#queue = [];
    const outcomes: { ok: boolean; value: unknown }[] = [];
    const startRevision = this.#view.revision;
    try {
      this.#journal.begin();
      for (const job of jobs) {
        try {
          outcomes.push({ ok: true, value: job.run() });
        } catch (error) {
          // Jobs validate before they mutate, so a StoreError leaves nothing half-applied.
          if (!(error instanceof StoreError)) throw error;
          outcomes.push({ ok: false, value: error });
        }
      }
      if (this.#view.revision !== startRevision) this.#journal.setRevision(this.#view.revision);
      this.#journal.commit();
      this.#commits++;
    } catch (error) {
      this.#fail(error as Error, jobs);
      return;
    }
    // Writers first: their continuations are queued ahead of the watchers' deliveries.
    jobs.forEach((job, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) job.resolve(outcome.value);
      else job.reject(outcome.value);
    });
    const unpublished = this.#unpublished;
    this.#unpublished = [];
    for (const { revision, events } of unpublished) this.#hub.publish(revision, events);
    this.#compactIfDue();
    if (this.#closed && this.#queue.length === 0) this.#drained?.();
  }

  #fail(error: Error, jobs: WriteJob[]): void {
    try {
      this.#journal.rollback();
    } catch {
      // The original error is the one worth reporting.
    }
    this.#closed = true;
    clearInterval(this.#leaseTimer);
    for (const job of [...jobs, ...this.#queue]) job.reject(error);
    this.#queue = [];
    this.#hub.clear();
    this.#journal.close();
    this.#drained?.();
    this.#options.onFatal?.(error);
  }

  #applyTxn(compare: Compare[], success: TxnOp[], failure: TxnOp[]): TxnResult {
    const succeeded = compare.every((guard) => this.#holds(guard));
    const ops = succeeded ? success : failure;
    for (const op of ops) if (op.type === "put" && op.lease) this.#liveLease(op.lease);
    const revision = this.#view.revision + 1;
    const events: WatchEvent[] = [];
    const results: TxnOpResult[] = ops.map((op): TxnOpResult => {
      switch (op.type) {
        case "range":
          return { type: "range", ...this.#view.range(op.key, op) };
        case "put": {
          const event = this.#record(this.#view.put(revision, op.key, op.value, op.lease ?? 0));
          events.push(event);
          return op.prevKv && event.prev ? { type: "put", revision, prev: event.prev } : { type: "put", revision };
        }
        default: {
          const removed = this.#view
            .liveKeys(op.key, op.prefix ?? false)
            .map((key) => this.#record(this.#view.remove(revision, key)!));
          events.push(...removed);
          const prev = op.prevKv ? removed.map((event) => event.prev!) : undefined;
          return { type: "delete", revision, deleted: removed.length, ...(prev ? { prev } : {}) };
        }
      }
    });
    if (events.length > 0) {
      this.#view.advanceTo(revision);
      this.#unpublished.push({ revision, events });
    }
    const finalRevision = this.#view.revision;
    // A write-free transaction reports the current revision, as etcd does.
    for (const result of results)
      if (result.type !== "range" && events.length === 0) Object.assign(result, { revision: finalRevision });
    return { succeeded, revision: finalRevision, results };
  }

  /** Persist the event's change; the view already holds it. */
  #record(event: WatchEvent): WatchEvent {
    const kv = event.kv;
    this.#journal.appendChange({
      revision: kv.mod_revision,
      key: kv.key,
      deleted: event.type === "delete",
      value: kv.value,
      create_revision: kv.create_revision,
      version: kv.version,
      lease: kv.lease,
    });
    return event;
  }

  #holds(guard: Compare): boolean {
    const kv = this.#view.latest(guard.key);
    if (guard.target === "value") {
      if (!kv) return false;
      const equal = isDeepStrictEqualJson(kv.value, guard.value);
      return guard.op === "==" ? equal : !equal;
    }
    const actual = kv ? kv[guard.target] : 0;
    const expected = guard.value as number;
    switch (guard.op) {
      case "==":
        return actual === expected;
      case "!=":
        return actual !== expected;
      case "<":
        return actual < expected;
      case ">":
        return actual > expected;
    }
  }

  #liveLease(id: number): LeaseRecord {
    const lease = this.#leases.get(id);
    if (!lease || lease.expiresAt <= Date.now()) throw new LeaseNotFoundError(id);
    return lease;
  }

  #saveLease(lease: LeaseRecord): void {
    this.#journal.saveLease(lease);
    this.#leases.set(lease.id, lease);
  }

  #revokeNow(id: number): void {
    const keys = this.#view.keysOfLease(id);
    if (keys.length > 0) {
      const revision = this.#view.revision + 1;
      const events = keys.map((key) => this.#record(this.#view.remove(revision, key)!));
      this.#view.advanceTo(revision);
      this.#unpublished.push({ revision, events });
    }
    this.#journal.dropLease(id);
    this.#leases.delete(id);
  }

  #expireLeases(): void {
    if (this.#closed) return;
    const now = Date.now();
    for (const lease of this.#leases.values()) {
      if (lease.expiresAt > now || this.#revoking.has(lease.id)) continue;
      this.#revoking.add(lease.id);
      this.#enqueue(() => {
        this.#revoking.delete(lease.id);
        const current = this.#leases.get(lease.id);
        // A keep-alive queued ahead of us may have saved it.
        if (current && current.expiresAt <= Date.now()) this.#revokeNow(lease.id);
      }).catch(() => {
        // Only a fatal commit error lands here, and #fail has reported it.
      });
    }
  }

  #compactNow(revision: number): void {
    const dropped = this.#view.compact(revision);
    this.#journal.dropChanges(dropped);
    this.#journal.setCompactRevision(revision);
  }

  #compactIfDue(): void {
    const retain = this.#options.retainRevisions ?? 100_000;
    if (retain <= 0 || this.#closed) return;
    const target = this.#view.revision - retain;
    // Compact in steps of a tenth of the window, so the cost is paid rarely.
    if (target - this.#view.compactRevision < Math.max(1, Math.floor(retain / 10))) return;
    this.#enqueue(() => this.#compactNow(target)).catch(() => {
      // Fatal errors are reported by #fail.
    });
  }

  #newLeaseId(): number {
    for (;;) {
      const id = randomInt(1, MAX_LEASE_ID);
      if (!this.#leases.has(id)) return id;
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreClosedError();
  }
}

function validateCompare(guard: Compare): Compare {
  assertValidKey(guard.key);
  if (!["==", "!=", "<", ">"].includes(guard.op))
    throw new InvalidArgumentError(`unknown compare operator ${String(guard.op)}`);
  if (guard.target === "value") {
    if (guard.op !== "==" && guard.op !== "!=") throw new InvalidArgumentError("a value compare takes == or != only");
    return { ...guard, value: freezeJsonValue(guard.value) };
  }
  if (!["version", "create_revision", "mod_revision", "lease"].includes(guard.target)) {
    throw new InvalidArgumentError(`unknown compare target ${String(guard.target)}`);
  }
  if (typeof guard.value !== "number" || !Number.isInteger(guard.value)) {
    throw new InvalidArgumentError(`a ${guard.target} compare needs an integer value`);
  }
  return guard;
}

/** Checks keys and values before anything is queued, and refuses two writes to one key (as etcd does). */
function validateOps(ops: readonly TxnOp[], branch: string): TxnOp[] {
  const written: { key: string; prefix: boolean }[] = [];
  const overlaps = (key: string, prefix: boolean) =>
    written.some((w) => w.key === key || (w.prefix && key.startsWith(w.key)) || (prefix && w.key.startsWith(key)));
  return ops.map((op) => {
    if (op.type === "range") {
      if (op.prefix) assertValidPrefix(op.key);
      else assertValidKey(op.key);
      return op;
    }
    if (op.type === "put") {
      assertValidKey(op.key);
      if (op.lease !== undefined && (!Number.isSafeInteger(op.lease) || op.lease < 0)) {
        throw new InvalidArgumentError("lease must be a non-negative integer");
      }
      if (overlaps(op.key, false))
        throw new InvalidArgumentError(`key ${op.key} is written twice in the ${branch} branch`);
      written.push({ key: op.key, prefix: false });
      return { ...op, value: freezeJsonValue(op.value) };
    }
    if (op.type === "delete") {
      const prefix = op.prefix ?? false;
      if (prefix) assertValidPrefix(op.key);
      else assertValidKey(op.key);
      if (overlaps(op.key, prefix))
        throw new InvalidArgumentError(`key ${op.key} is written twice in the ${branch} branch`);
      written.push({ key: op.key, prefix });
      return op;
    }
    throw new InvalidArgumentError(`unknown operation type ${String((op as { type: unknown }).type)}`);
  });
}

function isDeepStrictEqualJson(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  return aKeys.every(
    (k) =>
      Object.hasOwn(b, k) &&
      isDeepStrictEqualJson((a as Record<string, JsonValue>)[k]!, (b as Record<string, JsonValue>)[k]!),
  );
}
