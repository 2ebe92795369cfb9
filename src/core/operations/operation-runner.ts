import { LeaseNotFoundError } from "../../store/errors/lease-not-found-error.ts";
import type { JsonValue, StateStore, TxnOp, Watcher } from "../../store/state-store.ts";
import { ConflictError } from "../errors/conflict-error.ts";
import type { OperationKind, OperationKindRegistry, OperationStep, StepContext } from "./operation-kind-registry.ts";
import {
  logKey,
  OPERATION_QUEUE_PREFIX,
  OPERATION_RECORDS_PREFIX,
  OPERATION_RUNNING_PREFIX,
  type OperationEvent,
  type OperationRecord,
  type OperationState,
  operationKey,
  queueKey,
  resultKey,
  runningKey,
} from "./operation-record.ts";
import type { OperationService } from "./operation-service.ts";

export const INTERRUPTED_RESULT = "interrupted by a master restart";

/** How many finished operations are kept, as BOSH's director keeps its last 2,000 tasks (`max_tasks`). */
export const DEFAULT_OPERATIONS_KEPT = 2000;

export interface OperationRunnerOptions {
  readonly stopGraceMs?: number;
  readonly leaseTtlSeconds?: number;
  /** Finished operations kept in the store (newest first); older ones are pruned. 2,000 when absent. */
  readonly operationsKept?: number;
  /** Told about failed prunes (the next one retries); ignored when absent. */
  readonly onError?: (error: unknown) => void;
}

type Outcome = { readonly state: OperationState; readonly result: string; readonly error: string | null };

/** One operation this master runs, under the lease its running key was put on. */
type Run = {
  readonly controller: AbortController;
  readonly lease: number;
  readonly done: Promise<void>;
  /** The lease ended under it: another master may own the operation now, so this run writes nothing more. */
  lost: boolean;
};

const MAX_ATTEMPTS = 20;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Runs queued operations step by step, one at a time per grid and target: the head of each
 * target's queue in the store runs, the rest wait for it to leave. Claiming is a
 * compare-and-swap on the record, so two masters never run the same operation.
 *
 * A running operation is held by its running key on this master's lease. When the lease ends
 * under a live master (a stall past its TTL, a failed renewal), another master may recover the
 * operation while a step still runs here: the lease's steps are aborted at once, and every write
 * to the record is a compare-and-swap on the record still being processing/cancelling and its
 * running key still on the lease it ran under, so a finished record is never overwritten.
 */
export class OperationRunner {
  readonly #store: StateStore;
  readonly #operations: OperationService;
  readonly #kinds: OperationKindRegistry;
  readonly #running = new Map<number, Run>();
  #watcher: Watcher | undefined;
  #pumping = false;
  #pumpAgain = false;
  #stopped = false;

  readonly #stopGraceMs: number;
  readonly #leaseTtlSeconds: number;
  /** The live lease's id (0 before start and while a lost one is being replaced). */
  #leaseId = 0;
  #lease: Promise<number> = Promise.resolve(0);
  #keepAlive: NodeJS.Timeout | undefined;
  #runningWatcher: Watcher | undefined;
  #recovering: Promise<void> = Promise.resolve();

  readonly #operationsKept: number;
  /** A prune scans every record, so it runs once per this many finishes (a tenth of what is kept), not per finish. */
  readonly #pruneEvery: number;
  #finishedSincePrune = 0;
  /** At most one prune in flight; stop() waits for it. */
  #pruning: Promise<void> | undefined;
  readonly #pruneAbort = new AbortController();
  readonly #onError: (error: unknown) => void;

  constructor(
    store: StateStore,
    operations: OperationService,
    kinds: OperationKindRegistry,
    options: OperationRunnerOptions = {},
  ) {
    this.#store = store;
    this.#operations = operations;
    this.#kinds = kinds;
    this.#stopGraceMs = options.stopGraceMs ?? 5000;
    this.#leaseTtlSeconds = options.leaseTtlSeconds ?? 10;
    this.#operationsKept = options.operationsKept ?? DEFAULT_OPERATIONS_KEPT;
    this.#pruneEvery = Math.max(1, Math.ceil(this.#operationsKept / 10));
    this.#onError = options.onError ?? (() => {});
  }

  /** Fails what a dead master left running, then runs the queues (and keeps running them as they change). */
  async start(): Promise<void> {
    this.#lease = this.#grantLease();
    await this.#lease;
    this.#keepAlive = setInterval(() => void this.#renew(), (this.#leaseTtlSeconds * 1000) / 3);
    this.#keepAlive.unref();
    // A lease ending (another master died or stopped, or this one lost its own) leaves operations to recover.
    this.#runningWatcher = this.#store.watch({ key: OPERATION_RUNNING_PREFIX, prefix: true }, (batch) => {
      if (!batch.events.some((event) => event.type === "delete")) return;
      if (this.#leaseId !== 0 && this.#store.leaseInfo(this.#leaseId) === undefined) this.#leaseLost(this.#leaseId);
      void this.#recover().catch(() => {});
    });
    await this.#recover();
    this.#watcher = this.#store.watch({ key: OPERATION_QUEUE_PREFIX, prefix: true }, () => this.#pumpInBackground());
    await this.#pump();
    // What earlier runs (or a version without retention) left is pruned in the background.
    this.#prune();
  }

  /**
   * Stops taking work and aborts the running steps without recording an outcome: the store is
   * closing, and the next start fails them as interrupted. A step that ignores its signal is
   * left behind after the grace period, so that it cannot hold the master's shutdown.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watcher?.cancel();
    for (const run of this.#running.values()) run.controller.abort(new Error("the master is stopping"));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#stopGraceMs);
    });
    await Promise.race([Promise.all([...this.#running.values()].map((run) => run.done)), grace]);
    clearTimeout(timer);
    // A prune stops between deletions; each deletion is whole, so what it did not reach waits for the next start.
    this.#pruneAbort.abort();
    await this.#pruning;
    this.#runningWatcher?.cancel();
    clearInterval(this.#keepAlive);
    // Ending the lease now lets another master recover what ran here without waiting for its expiry.
    const lease = await this.#lease.catch(() => 0);
    if (lease !== 0) await this.#store.revokeLease(lease).catch(() => {});
  }

  async #grantLease(): Promise<number> {
    const { id } = await this.#store.grantLease(this.#leaseTtlSeconds);
    this.#leaseId = id;
    return id;
  }

  /** A failed renewal is retried by the next tick; one that finds the lease gone means it was lost. */
  async #renew(): Promise<void> {
    const lease = this.#leaseId;
    if (lease === 0 || this.#stopped) return;
    await this.#store.keepAlive(lease).catch((error: unknown) => {
      if (error instanceof LeaseNotFoundError) this.#leaseLost(lease);
    });
  }

  /**
   * The lease ended while this master lives: what ran under it may be recovered by another
   * master now, so its steps are aborted and write nothing more; new work takes a new lease.
   */
  #leaseLost(lease: number): void {
    if (lease !== this.#leaseId || this.#stopped) return;
    this.#leaseId = 0;
    for (const run of this.#running.values()) {
      if (run.lease !== lease || run.lost) continue;
      run.lost = true;
      run.controller.abort(new Error("this master lost its lease on the operation"));
    }
    this.#lease = this.#grantLease();
    // Runs launched meanwhile under no lease wait for it; the queues are looked at again once it is there.
    void this.#lease.then(
      () => this.#pumpInBackground(),
      () => {},
    );
  }

  /** One recovery at a time per master; several masters are kept apart by adopting each operation first. */
  #recover(): Promise<void> {
    // A failed round (its caller saw the error) must not stop later ones.
    this.#recovering = this.#recovering.catch(() => {}).then(() => this.#recoverStranded());
    return this.#recovering;
  }

  async #recoverStranded(): Promise<void> {
    if (this.#stopped) return;
    const { kvs } = await this.#store.range(OPERATION_RECORDS_PREFIX, { prefix: true });
    for (const kv of kvs) {
      const operation = kv.value as OperationRecord;
      if (operation.state !== "processing" && operation.state !== "cancelling") continue;
      const lease = await this.#lease;
      if (!(await this.#adopt(operation, kv.mod_revision, lease))) continue;
      // This master's own run of it lost its lease: let its aborted step wind down before undoing.
      const own = this.#running.get(operation.id);
      if (own?.lost) await this.#settled(own);
      const kind = this.#kinds.get(operation.kind);
      const steps = kind ? kind.steps(operation.params, operation).slice(0, operation.stepsStarted) : [];
      const total = kind ? kind.steps(operation.params, operation).length : 0;
      const owned = await this.#event(operation.id, lease, {
        stage: kind?.stage ?? operation.kind,
        total,
        task: INTERRUPTED_RESULT,
        index: operation.stepsStarted,
        state: "failed",
        progress: 100,
        data: { error: INTERRUPTED_RESULT },
      });
      if (!owned) continue;
      const undone = kind ? await this.#compensate(operation, kind, steps, total, lease) : [];
      await this.#finish(operation.id, lease, {
        state: "errored",
        result: withUndone(INTERRUPTED_RESULT, undone),
        error: INTERRUPTED_RESULT,
      });
    }
  }

  /** Takes over an operation whose master is gone (no running key), unless another master got there first. */
  async #adopt(operation: OperationRecord, modRevision: number, lease: number): Promise<boolean> {
    const result = await this.#store.txn({
      compare: [
        { key: runningKey(operation.id), target: "version", op: "==", value: 0 },
        { key: operationKey(operation.id), target: "mod_revision", op: "==", value: modRevision },
      ],
      success: [{ type: "put", key: runningKey(operation.id), value: operation.id, lease }],
    });
    return result.succeeded;
  }

  /** Waits for a run to end, at most the stop grace period (its step may ignore the signal). */
  async #settled(run: Run): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#stopGraceMs);
    });
    await Promise.race([run.done, grace]);
    clearTimeout(timer);
  }

  /** A pump nobody awaits: a failure (the store closing under it) is reported, never left unhandled; the next queue change pumps again. */
  #pumpInBackground(): void {
    this.#pump().catch((error: unknown) => {
      if (!this.#stopped) this.#onError(error);
    });
  }

  async #pump(): Promise<void> {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        // While a lost lease is being replaced there is nothing to claim under; its grant pumps again.
        if (this.#stopped || this.#leaseId === 0) return;
        const { kvs } = await this.#store.range(OPERATION_QUEUE_PREFIX, { prefix: true });
        const heads = new Map<string, number>();
        for (const kv of kvs) {
          const queue = kv.key.slice(0, kv.key.lastIndexOf("/"));
          if (!heads.has(queue)) heads.set(queue, kv.value as number);
        }
        for (const id of heads.values()) if (!this.#running.has(id)) this.#launch(id);
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
    }
  }

  #launch(id: number): void {
    const controller = new AbortController();
    const { promise: done, resolve } = Promise.withResolvers<void>();
    const run: Run = { controller, lease: this.#leaseId, done, lost: false };
    this.#running.set(id, run);
    this.#claimAndRun(id, run)
      .catch(async (error: unknown) => {
        // A store failure mid-run: record it unless the master is stopping (then recovery does)
        // or the run was lost (then the operation is no longer this master's to finish).
        if (this.#stopped || run.lost) return;
        await this.#finish(id, run.lease, { state: "errored", result: errorText(error), error: errorText(error) });
      })
      .catch(() => {})
      .finally(() => {
        this.#running.delete(id);
        resolve();
      });
  }

  async #claimAndRun(id: number, run: Run): Promise<void> {
    const claimed = await this.#operations.change(
      id,
      (current) =>
        current.state === "queued" ? { ...current, state: "processing", startedAt: Date.now() } : undefined,
      () => [{ type: "put", key: runningKey(id), value: id, lease: run.lease }],
    );
    if (!claimed) return;
    const kind = this.#kinds.get(claimed.kind);
    if (!kind) {
      const error = `no master here knows operation kind ${claimed.kind}`;
      await this.#finish(id, run.lease, { state: "errored", result: error, error });
      return;
    }
    const cancelWatch = this.#watchCancel(id, run.controller);
    try {
      await this.#run(claimed, kind, run);
    } finally {
      cancelWatch.cancel();
    }
  }

  /** Cancelling is a record change, so a cancel through any master reaches the running step. */
  #watchCancel(id: number, controller: AbortController): Watcher {
    const abortIfCancelling = (record: OperationRecord | undefined) => {
      if (record?.state === "cancelling") controller.abort(new Error("cancelled"));
    };
    const watcher = this.#store.watch({ key: operationKey(id) }, (batch) => {
      for (const event of batch.events) abortIfCancelling(event.kv.value as OperationRecord | undefined);
    });
    // A cancel between the claim and the watch.
    void this.#store.get(operationKey(id)).then((kv) => abortIfCancelling(kv?.value as OperationRecord | undefined));
    return watcher;
  }

  async #run(operation: OperationRecord, kind: OperationKind, run: Run): Promise<void> {
    const { controller, lease } = run;
    const steps = kind.steps(operation.params, operation);
    const started: OperationStep[] = [];
    const context = this.#context(operation, lease);
    // An event that can no longer be written means the operation is no longer this run's.
    const event = async (step: OperationStep, index: number, state: OperationEvent["state"], error?: string) => {
      const owned = await this.#event(
        operation.id,
        lease,
        {
          stage: kind.stage,
          total: steps.length,
          task: step.name,
          index: index + 1,
          state,
          progress: state === "started" ? 0 : 100,
          ...(error === undefined ? {} : { data: { error } }),
        },
        state === "started" ? () => ({ stepsStarted: index + 1 }) : undefined,
      );
      if (!owned) run.lost = true;
      return owned;
    };
    let failure: { readonly step: string; readonly error: string } | undefined;
    for (const [index, step] of steps.entries()) {
      if (controller.signal.aborted) break;
      if (!(await event(step, index, "started"))) return;
      started.push(step);
      try {
        await step.run(context, controller.signal);
        if (!(await event(step, index, "finished"))) return;
      } catch (error) {
        if (this.#stopped || run.lost) return;
        const message = controller.signal.aborted ? "cancelled" : errorText(error);
        if (!(await event(step, index, "failed", message))) return;
        if (!controller.signal.aborted) failure = { step: step.name, error: message };
        break;
      }
    }
    if (this.#stopped || run.lost) return;
    const current = await this.#operations.get(operation.id);
    const cancelled = !failure && (controller.signal.aborted || current.state === "cancelling");
    if (!failure && !cancelled) {
      await this.#finish(operation.id, lease, {
        state: "done",
        result: kind.summary?.(current) ?? "done",
        error: null,
      });
      return;
    }
    const undone = await this.#compensate(operation, kind, started, steps.length, lease);
    const last = started.at(-1)?.name ?? "the first step";
    await this.#finish(
      operation.id,
      lease,
      failure
        ? { state: "errored", result: withUndone(`${failure.step}: ${failure.error}`, undone), error: failure.error }
        : { state: "cancelled", result: withUndone(`cancelled during ${last}`, undone), error: null },
    );
  }

  /** Undoes the started steps, last first; a failing compensation is logged and the rest still run. */
  async #compensate(
    operation: OperationRecord,
    kind: OperationKind,
    started: readonly OperationStep[],
    total: number,
    lease: number,
  ): Promise<string[]> {
    const context = this.#context(operation, lease);
    const undone: string[] = [];
    for (let index = started.length - 1; index >= 0; index--) {
      const step = started[index];
      if (!step?.compensate) continue;
      const base = { stage: `Undoing ${kind.stage}`, total, task: step.name, index: index + 1 };
      // Undoing is this master's only while it still holds the operation.
      if (!(await this.#event(operation.id, lease, { ...base, state: "started", progress: 0 }))) break;
      try {
        await step.compensate(context);
        await this.#event(operation.id, lease, { ...base, state: "finished", progress: 100 });
        undone.push(step.name);
      } catch (error) {
        const data = { error: errorText(error) };
        await this.#event(operation.id, lease, { ...base, state: "failed", progress: 100, data });
      }
    }
    return undone;
  }

  /** A step's writes go through the same ownership check: a lost step's lines and output are dropped. */
  #context(operation: OperationRecord, lease: number): StepContext {
    const id = operation.id;
    return {
      operation,
      debug: async (line) => {
        await this.#ownedChange(
          id,
          lease,
          (current) => ({ ...current, debugCount: current.debugCount + 1 }),
          (next) => [{ type: "put", key: logKey(id, "debug", next.debugCount), value: line }],
        );
      },
      setResultOutput: async (text) => {
        await this.#ownedChange(
          id,
          lease,
          (current) => current,
          () => [{ type: "put", key: resultKey(id), value: text }],
        );
      },
      event: async (event) => {
        const line: OperationEvent = { time: nowSeconds(), ...event };
        await this.#ownedChange(
          id,
          lease,
          (current) => ({ ...current, eventCount: current.eventCount + 1 }),
          (next) => [{ type: "put", key: logKey(id, "event", next.eventCount), value: line as JsonValue }],
        );
      },
    };
  }

  /** Appends an event line (and patches the record) while the operation is held under `lease`; false once it is not. */
  async #event(
    id: number,
    lease: number,
    event: Omit<OperationEvent, "time" | "tags">,
    patch: (current: OperationRecord) => Partial<OperationRecord> = () => ({}),
  ): Promise<boolean> {
    // BOSH's field order: time, stage, tags, then the rest.
    const { stage, ...rest } = event;
    const line: OperationEvent = { time: nowSeconds(), stage, tags: [], ...rest };
    const next = await this.#ownedChange(
      id,
      lease,
      (current) => ({ ...current, ...patch(current), eventCount: current.eventCount + 1 }),
      (changed) => [{ type: "put", key: logKey(id, "event", changed.eventCount), value: line as JsonValue }],
    );
    return next !== undefined;
  }

  /** The outcome and the queue exit in one write, so the next operation of the target starts only after. */
  async #finish(id: number, lease: number, outcome: Outcome): Promise<void> {
    const finished = await this.#ownedChange(
      id,
      lease,
      (current) => ({ ...current, ...outcome, finishedAt: Date.now() }),
      (next) => [
        { type: "delete", key: queueKey(next) },
        { type: "delete", key: runningKey(id) },
      ],
    );
    if (finished && ++this.#finishedSincePrune >= this.#pruneEvery) this.#prune();
  }

  /** Starts a prune unless one is in flight (that one starts the next when enough finished meanwhile). */
  #prune(): void {
    if (this.#pruning || this.#stopped) return;
    this.#finishedSincePrune = 0;
    this.#pruning = this.#operations
      .prune(this.#operationsKept, { signal: this.#pruneAbort.signal })
      .then(
        () => {},
        (error: unknown) => {
          if (!this.#stopped) this.#onError(error);
        },
      )
      .finally(() => {
        this.#pruning = undefined;
        if (this.#finishedSincePrune >= this.#pruneEvery) this.#prune();
      });
  }

  /**
   * Changes the record only while it is unfinished and held under `lease` (its running key on
   * that lease), with the extra writes in the same transaction; undefined when it no longer is.
   */
  async #ownedChange(
    id: number,
    lease: number,
    change: (current: OperationRecord) => OperationRecord,
    extra: (next: OperationRecord) => TxnOp[] = () => [],
  ): Promise<OperationRecord | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const kv = await this.#store.get(operationKey(id));
      const current = kv?.value as OperationRecord | undefined;
      if (!kv || !current || (current.state !== "processing" && current.state !== "cancelling")) return undefined;
      const next = change(current);
      const result = await this.#store.txn({
        compare: [
          { key: kv.key, target: "mod_revision", op: "==", value: kv.mod_revision },
          // A missing running key has lease 0, which no live lease has.
          { key: runningKey(id), target: "lease", op: "==", value: lease },
        ],
        success: [{ type: "put", key: kv.key, value: next as JsonValue }, ...extra(next)],
      });
      if (result.succeeded) return next;
      if ((await this.#store.get(runningKey(id)))?.lease !== lease) return undefined;
    }
    throw new ConflictError(`Task ${id} is being changed concurrently; try again`);
  }
}

function withUndone(text: string, undone: readonly string[]): string {
  return undone.length === 0 ? text : `${text}; undone: ${undone.join(", ")}`;
}
