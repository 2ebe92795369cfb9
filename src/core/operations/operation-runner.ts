import type { StateStore, Watcher } from "../../store/state-store.ts";
import type { OperationKind, OperationKindRegistry, OperationStep, StepContext } from "./operation-kind-registry.ts";
import {
  OPERATION_QUEUE_PREFIX,
  OPERATION_RECORDS_PREFIX,
  OPERATION_RUNNING_PREFIX,
  type OperationEvent,
  type OperationRecord,
  type OperationState,
  operationKey,
  queueKey,
  runningKey,
} from "./operation-record.ts";
import type { OperationService } from "./operation-service.ts";

export const INTERRUPTED_RESULT = "interrupted by a master restart";

type Outcome = { readonly state: OperationState; readonly result: string; readonly error: string | null };

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
 */
export class OperationRunner {
  readonly #store: StateStore;
  readonly #operations: OperationService;
  readonly #kinds: OperationKindRegistry;
  readonly #running = new Map<number, { readonly controller: AbortController; readonly done: Promise<void> }>();
  #watcher: Watcher | undefined;
  #pumping = false;
  #pumpAgain = false;
  #stopped = false;

  readonly #stopGraceMs: number;
  readonly #leaseTtlSeconds: number;
  #lease = 0;
  #keepAlive: NodeJS.Timeout | undefined;
  #runningWatcher: Watcher | undefined;
  #recovering: Promise<void> = Promise.resolve();

  constructor(
    store: StateStore,
    operations: OperationService,
    kinds: OperationKindRegistry,
    options: { readonly stopGraceMs?: number; readonly leaseTtlSeconds?: number } = {},
  ) {
    this.#store = store;
    this.#operations = operations;
    this.#kinds = kinds;
    this.#stopGraceMs = options.stopGraceMs ?? 5000;
    this.#leaseTtlSeconds = options.leaseTtlSeconds ?? 10;
  }

  /** Fails what a dead master left running, then runs the queues (and keeps running them as they change). */
  async start(): Promise<void> {
    this.#lease = (await this.#store.grantLease(this.#leaseTtlSeconds)).id;
    const lease = this.#lease;
    // A failed renewal is retried by the next tick; a lease that lapsed lets other masters recover.
    this.#keepAlive = setInterval(
      () => void this.#store.keepAlive(lease).catch(() => {}),
      (this.#leaseTtlSeconds * 1000) / 3,
    );
    this.#keepAlive.unref();
    // Another master's lease ending (it died or stopped) leaves its operations to recover.
    this.#runningWatcher = this.#store.watch({ key: OPERATION_RUNNING_PREFIX, prefix: true }, (batch) => {
      if (batch.events.some((event) => event.type === "delete")) void this.#recover().catch(() => {});
    });
    await this.#recover();
    this.#watcher = this.#store.watch({ key: OPERATION_QUEUE_PREFIX, prefix: true }, () => void this.#pump());
    await this.#pump();
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
    this.#runningWatcher?.cancel();
    clearInterval(this.#keepAlive);
    // Ending the lease now lets another master recover what ran here without waiting for its expiry.
    if (this.#lease !== 0) await this.#store.revokeLease(this.#lease).catch(() => {});
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
      if (!(await this.#adopt(operation, kv.mod_revision))) continue;
      const kind = this.#kinds.get(operation.kind);
      const steps = kind ? kind.steps(operation.params, operation).slice(0, operation.stepsStarted) : [];
      const total = kind ? kind.steps(operation.params, operation).length : 0;
      await this.#event(operation.id, {
        stage: kind?.stage ?? operation.kind,
        total,
        task: INTERRUPTED_RESULT,
        index: operation.stepsStarted,
        state: "failed",
        progress: 100,
        data: { error: INTERRUPTED_RESULT },
      });
      const undone = kind ? await this.#compensate(operation, kind, steps, total) : [];
      await this.#finish(operation, {
        state: "errored",
        result: withUndone(INTERRUPTED_RESULT, undone),
        error: INTERRUPTED_RESULT,
      });
    }
  }

  /** Takes over an operation whose master is gone (no running key), unless another master got there first. */
  async #adopt(operation: OperationRecord, modRevision: number): Promise<boolean> {
    const result = await this.#store.txn({
      compare: [
        { key: runningKey(operation.id), target: "version", op: "==", value: 0 },
        { key: operationKey(operation.id), target: "mod_revision", op: "==", value: modRevision },
      ],
      success: [{ type: "put", key: runningKey(operation.id), value: operation.id, lease: this.#lease }],
    });
    return result.succeeded;
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
        if (this.#stopped) return;
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
    const done = this.#claimAndRun(id, controller)
      .catch(async (error: unknown) => {
        // A store failure mid-run: record it unless the master is stopping (then recovery does).
        if (this.#stopped) return;
        const operation = await this.#operations.get(id).catch(() => undefined);
        if (operation)
          await this.#finish(operation, { state: "errored", result: errorText(error), error: errorText(error) });
      })
      .catch(() => {})
      .finally(() => this.#running.delete(id));
    this.#running.set(id, { controller, done });
  }

  async #claimAndRun(id: number, controller: AbortController): Promise<void> {
    const claimed = await this.#operations.change(
      id,
      (current) =>
        current.state === "queued" ? { ...current, state: "processing", startedAt: Date.now() } : undefined,
      () => [{ type: "put", key: runningKey(id), value: id, lease: this.#lease }],
    );
    if (!claimed) return;
    const kind = this.#kinds.get(claimed.kind);
    if (!kind) {
      const error = `no master here knows operation kind ${claimed.kind}`;
      await this.#finish(claimed, { state: "errored", result: error, error });
      return;
    }
    const cancelWatch = this.#watchCancel(id, controller);
    try {
      await this.#run(claimed, kind, controller);
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

  async #run(operation: OperationRecord, kind: OperationKind, controller: AbortController): Promise<void> {
    const steps = kind.steps(operation.params, operation);
    const started: OperationStep[] = [];
    const context = this.#context(operation);
    const event = (step: OperationStep, index: number, state: OperationEvent["state"], error?: string) =>
      this.#event(
        operation.id,
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
    let failure: { readonly step: string; readonly error: string } | undefined;
    for (const [index, step] of steps.entries()) {
      if (controller.signal.aborted) break;
      await event(step, index, "started");
      started.push(step);
      try {
        await step.run(context, controller.signal);
        await event(step, index, "finished");
      } catch (error) {
        if (this.#stopped) return;
        const message = controller.signal.aborted ? "cancelled" : errorText(error);
        await event(step, index, "failed", message);
        if (!controller.signal.aborted) failure = { step: step.name, error: message };
        break;
      }
    }
    if (this.#stopped) return;
    const current = await this.#operations.get(operation.id);
    const cancelled = !failure && (controller.signal.aborted || current.state === "cancelling");
    if (!failure && !cancelled) {
      await this.#finish(current, { state: "done", result: kind.summary?.(current) ?? "done", error: null });
      return;
    }
    const undone = await this.#compensate(operation, kind, started, steps.length);
    const last = started.at(-1)?.name ?? "the first step";
    await this.#finish(
      current,
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
  ): Promise<string[]> {
    const context = this.#context(operation);
    const undone: string[] = [];
    for (let index = started.length - 1; index >= 0; index--) {
      const step = started[index];
      if (!step?.compensate) continue;
      const base = { stage: `Undoing ${kind.stage}`, total, task: step.name, index: index + 1 };
      await this.#event(operation.id, { ...base, state: "started", progress: 0 });
      try {
        await step.compensate(context);
        await this.#event(operation.id, { ...base, state: "finished", progress: 100 });
        undone.push(step.name);
      } catch (error) {
        await this.#event(operation.id, { ...base, state: "failed", progress: 100, data: { error: errorText(error) } });
      }
    }
    return undone;
  }

  #context(operation: OperationRecord): StepContext {
    return {
      operation,
      debug: (line) => this.#operations.appendDebug(operation.id, line),
      setResultOutput: (text) => this.#operations.setResultOutput(operation.id, text),
    };
  }

  async #event(
    id: number,
    event: Omit<OperationEvent, "time" | "tags">,
    patch?: (current: OperationRecord) => Partial<OperationRecord>,
  ): Promise<void> {
    // BOSH's field order: time, stage, tags, then the rest.
    const { stage, ...rest } = event;
    await this.#operations.appendEvent(id, { time: nowSeconds(), stage, tags: [], ...rest }, patch);
  }

  /** The outcome and the queue exit in one write, so the next operation of the target starts only after. */
  async #finish(operation: OperationRecord, outcome: Outcome): Promise<void> {
    await this.#operations.change(
      operation.id,
      (current) => ({ ...current, ...outcome, finishedAt: Date.now() }),
      () => [
        { type: "delete", key: queueKey(operation) },
        { type: "delete", key: runningKey(operation.id) },
      ],
    );
  }
}

function withUndone(text: string, undone: readonly string[]): string {
  return undone.length === 0 ? text : `${text}; undone: ${undone.join(", ")}`;
}
