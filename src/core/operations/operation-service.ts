import type { JsonValue, StateStore, TxnOp } from "../../store/state-store.ts";
import type { Principal } from "../auth/principal.ts";
import { ConflictError } from "../errors/conflict-error.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import { OperationFinishedError } from "./operation-finished-error.ts";
import {
  FINISHED_STATES,
  logKey,
  logPrefix,
  OPERATION_COUNTER_KEY,
  OPERATION_RECORDS_PREFIX,
  type OperationEvent,
  type OperationLog,
  type OperationRecord,
  type OperationState,
  operationKey,
  operationLogsPrefix,
  queueKey,
  resultKey,
} from "./operation-record.ts";
import { canSeeOperation } from "./operation-visibility.ts";

const MAX_ATTEMPTS = 20;

export interface SubmitOperation {
  readonly kind: string;
  readonly description: string;
  readonly user: string;
  readonly grid: string;
  readonly target: string;
  readonly deployment?: string;
  readonly internal?: boolean;
  readonly params?: JsonValue;
}

export interface ListOperations {
  /** Only what this caller may see; everything when absent (the runner's own reads). */
  readonly visibleTo?: Principal;
  readonly states?: readonly OperationState[];
  readonly deployment?: string;
  readonly includeInternal: boolean;
  readonly limit?: number;
}

/**
 * Operation records, their append-only logs and their per-target queues, all in the store
 * (so that every master and a restarted one see them). Running them is the runner's job.
 */
export class OperationService {
  readonly #store: StateStore;

  constructor(store: StateStore) {
    this.#store = store;
  }

  /** Creates a queued operation with the next id and puts it in its target's queue. */
  async submit(input: SubmitOperation): Promise<OperationRecord> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const counter = await this.#store.get(OPERATION_COUNTER_KEY);
      const id = (typeof counter?.value === "number" ? counter.value : 0) + 1;
      const record: OperationRecord = {
        id,
        kind: input.kind,
        description: input.description,
        user: input.user,
        grid: input.grid,
        target: input.target,
        deployment: input.deployment ?? null,
        internal: input.internal ?? false,
        params: input.params ?? null,
        state: "queued",
        createdAt: Date.now(),
        startedAt: null,
        finishedAt: null,
        result: null,
        error: null,
        stepsStarted: 0,
        eventCount: 0,
        debugCount: 0,
      };
      const result = await this.#store.txn({
        compare: [{ key: OPERATION_COUNTER_KEY, target: "mod_revision", op: "==", value: counter?.mod_revision ?? 0 }],
        success: [
          { type: "put", key: OPERATION_COUNTER_KEY, value: id },
          { type: "put", key: operationKey(id), value: record },
          { type: "put", key: queueKey(record), value: id },
        ],
      });
      if (result.succeeded) return record;
    }
    throw new ConflictError("operations are being created concurrently; try again");
  }

  async find(id: number): Promise<OperationRecord | undefined> {
    return (await this.#store.get(operationKey(id)))?.value as OperationRecord | undefined;
  }

  async get(id: number): Promise<OperationRecord> {
    const record = await this.find(id);
    if (!record) throw new NotFoundError(`Task ${id} not found`);
    return record;
  }

  /** Newest first. */
  async list(filter: ListOperations): Promise<OperationRecord[]> {
    const { kvs } = await this.#store.range(OPERATION_RECORDS_PREFIX, { prefix: true });
    const matching = kvs
      .map((kv) => kv.value as OperationRecord)
      .filter(
        (op) =>
          (!filter.visibleTo || canSeeOperation(filter.visibleTo, op)) &&
          (filter.includeInternal || !op.internal) &&
          (!filter.states || filter.states.includes(op.state)) &&
          (filter.deployment === undefined || op.deployment === filter.deployment),
      )
      .reverse();
    return filter.limit === undefined ? matching : matching.slice(0, filter.limit);
  }

  /**
   * Deletes the finished operations (record and both logs) older than the newest `keep` finished
   * ones, each in one write guarded by the record's revision, so that no operation is ever
   * half-deleted and one that changed meanwhile is left for a later prune. Unfinished operations
   * are never touched, however old; the counter stays, so ids are never reused. Answers how many went.
   */
  async prune(keep: number, options: { readonly signal?: AbortSignal } = {}): Promise<number> {
    const { kvs } = await this.#store.range(OPERATION_RECORDS_PREFIX, { prefix: true });
    // Keys sort as ids do: oldest first.
    const finished = kvs.filter((kv) => FINISHED_STATES.includes((kv.value as OperationRecord).state));
    let removed = 0;
    for (const kv of finished.slice(0, Math.max(0, finished.length - Math.max(0, keep)))) {
      if (options.signal?.aborted) break;
      const id = (kv.value as OperationRecord).id;
      const result = await this.#store.txn({
        compare: [{ key: kv.key, target: "mod_revision", op: "==", value: kv.mod_revision }],
        success: [
          { type: "delete", key: kv.key },
          { type: "delete", key: operationLogsPrefix(id), prefix: true },
        ],
      });
      if (result.succeeded) removed++;
    }
    return removed;
  }

  /**
   * The operation once it has finished, or as it stands when `timeoutMs` runs out: for callers
   * that answer with the outcome of a short operation (a removal) and fall back to its status.
   * Follows the record with a store watch from the revision it was read at, so no change is missed.
   */
  async awaitFinished(id: number, timeoutMs: number): Promise<OperationRecord> {
    const kv = await this.#store.get(operationKey(id));
    if (!kv) throw new NotFoundError(`Task ${id} not found`);
    const current = kv.value as OperationRecord;
    if (FINISHED_STATES.includes(current.state)) return current;
    return new Promise((resolve) => {
      let latest = current;
      const done = () => {
        clearTimeout(timer);
        watcher.cancel();
        resolve(latest);
      };
      const timer = setTimeout(done, timeoutMs);
      const watcher = this.#store.watch({ key: operationKey(id), fromRevision: kv.mod_revision + 1 }, (batch) => {
        for (const event of batch.events) if (event.type === "put") latest = event.kv.value as OperationRecord;
        // Pruned away: it had finished, as `latest` may not show yet; the caller answers with what it saw.
        if (FINISHED_STATES.includes(latest.state) || batch.events.some((event) => event.type === "delete")) done();
      });
    });
  }

  /** A queued operation is cancelled at once; a running one goes to `cancelling` and its runner undoes it. */
  async cancel(id: number): Promise<OperationRecord> {
    const next = await this.change(
      id,
      (current) => {
        if (FINISHED_STATES.includes(current.state)) {
          throw new OperationFinishedError(`Task ${id} is already finished (${current.state})`);
        }
        if (current.state === "cancelling") return undefined;
        return current.state === "queued"
          ? { ...current, state: "cancelled", finishedAt: Date.now(), result: "cancelled before it started" }
          : { ...current, state: "cancelling" };
      },
      (changed) => (changed.state === "cancelled" ? [{ type: "delete", key: queueKey(changed) }] : []),
    );
    return next ?? this.get(id);
  }

  /**
   * Changes the record with compare-and-swap, together with extra writes in the same
   * transaction (a log line, the queue entry), so that no half of a change is ever stored.
   */
  async change(
    id: number,
    change: (current: OperationRecord) => OperationRecord | undefined,
    extra: (next: OperationRecord) => TxnOp[] = () => [],
  ): Promise<OperationRecord | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const kv = await this.#store.get(operationKey(id));
      if (!kv) throw new NotFoundError(`Task ${id} not found`);
      const next = change(kv.value as OperationRecord);
      if (next === undefined) return undefined;
      const result = await this.#store.txn({
        compare: [{ key: kv.key, target: "mod_revision", op: "==", value: kv.mod_revision }],
        success: [{ type: "put", key: kv.key, value: next }, ...extra(next)],
      });
      if (result.succeeded) return next;
    }
    throw new ConflictError(`Task ${id} is being changed concurrently; try again`);
  }

  /** Appends an event line, optionally changing the record in the same write. */
  async appendEvent(
    id: number,
    event: OperationEvent,
    patch: (current: OperationRecord) => Partial<OperationRecord> = () => ({}),
  ): Promise<OperationRecord | undefined> {
    return this.change(
      id,
      (current) => ({ ...current, ...patch(current), eventCount: current.eventCount + 1 }),
      (next) => [{ type: "put", key: logKey(id, "event", next.eventCount), value: event }],
    );
  }

  async appendDebug(id: number, line: string): Promise<void> {
    await this.change(
      id,
      (current) => ({ ...current, debugCount: current.debugCount + 1 }),
      (next) => [{ type: "put", key: logKey(id, "debug", next.debugCount), value: line }],
    );
  }

  async setResultOutput(id: number, text: string): Promise<void> {
    const result = await this.#store.txn({
      compare: [{ key: operationKey(id), target: "create_revision", op: ">", value: 0 }],
      success: [{ type: "put", key: resultKey(id), value: text }],
    });
    if (!result.succeeded) throw new NotFoundError(`Task ${id} not found`);
  }

  /** A log as text: the event log as JSON lines, the debug log as lines; "" when empty. */
  async output(id: number, log: OperationLog | "result"): Promise<string> {
    await this.get(id);
    if (log === "result") return String((await this.#store.get(resultKey(id)))?.value ?? "");
    const { kvs } = await this.#store.range(logPrefix(id, log), { prefix: true });
    return kvs.map((kv) => `${log === "event" ? JSON.stringify(kv.value) : String(kv.value)}\n`).join("");
  }
}
