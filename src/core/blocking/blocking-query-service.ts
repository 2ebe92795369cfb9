import type { StateStore, Watcher } from "../../store/state-store.ts";

/** What a blocking query's `run` computes: the value and the index it reflects. */
export interface QueryResult<T> {
  readonly index: number;
  readonly value: T;
}

export interface BlockingQueryOptions<T> {
  /** The client's index; 0 (absent) answers at once. */
  readonly minIndex: number;
  /** How long to wait for a change, ms; undefined or 0 means the default. Capped at the maximum. */
  readonly waitMs?: number;
  /** Key prefixes whose changes may change the result; `run` is re-run on any change under them. */
  readonly prefixes: readonly string[];
  /** Computes the current result. Must be cheap: it runs again on every relevant change. */
  readonly run: () => QueryResult<T> | Promise<QueryResult<T>>;
  /** Answer at once with the current result when aborted (the client went away). */
  readonly signal?: AbortSignal;
}

export interface BlockingQueryServiceOptions {
  /** Default wait, ms (Consul: 5 minutes). */
  readonly defaultWaitMs?: number;
  /** Longest wait, ms (Consul: 10 minutes). */
  readonly maxWaitMs?: number;
  /** Source of jitter in [0, 1). */
  readonly random?: () => number;
}

/** Consul adds up to wait/16 of random jitter so that many clients do not wake in lockstep. */
const JITTER_FRACTION = 16;

/**
 * Long polling for every face, Consul-style: a query waits until its result's index passes
 * the client's index, or until the wait runs out, driven by store watches (no polling).
 */
export class BlockingQueryService {
  readonly #store: StateStore;
  readonly #defaultWaitMs: number;
  readonly #maxWaitMs: number;
  readonly #random: () => number;
  /** Wakers of the queries now waiting, so that shutdown can answer them all at once. */
  readonly #waiting = new Set<() => void>();
  #closed = false;

  constructor(store: StateStore, options: BlockingQueryServiceOptions = {}) {
    this.#store = store;
    this.#defaultWaitMs = options.defaultWaitMs ?? 5 * 60_000;
    this.#maxWaitMs = options.maxWaitMs ?? 10 * 60_000;
    this.#random = options.random ?? Math.random;
  }

  /** Number of queries now waiting (for diagnostics and tests). */
  get waitingCount(): number {
    return this.#waiting.size;
  }

  /** The timeout a query with this wait gets: the wait, defaulted and capped, plus jitter. */
  timeoutFor(waitMs: number | undefined): number {
    const wait = Math.min(waitMs === undefined || waitMs <= 0 ? this.#defaultWaitMs : waitMs, this.#maxWaitMs);
    return wait + this.#random() * (wait / JITTER_FRACTION);
  }

  async blockingQuery<T>(options: BlockingQueryOptions<T>): Promise<QueryResult<T>> {
    const { minIndex, prefixes, run, signal } = options;
    if (minIndex <= 0 || this.#closed || signal?.aborted) return normalize(await run());

    // Watch before the first run, so that a change landing between the run and the watch is not missed.
    const { promise, resolve, reject } = Promise.withResolvers<QueryResult<T>>();
    let settled = false;
    let running = false;
    let rerun = false;
    let force = false;

    const evaluate = async (): Promise<void> => {
      if (running) {
        rerun = true;
        return;
      }
      running = true;
      try {
        do {
          rerun = false;
          const result = normalize(await run());
          if (settled) return;
          // An index ahead of the store's cannot be waited for (another cluster, a restore): answer now.
          if (force || result.index > minIndex || minIndex > this.#store.currentRevision()) {
            settle();
            resolve(result);
            return;
          }
        } while (rerun || force);
      } catch (error) {
        if (!settled) {
          settle();
          reject(error);
        }
      } finally {
        running = false;
      }
    };

    const wake = (): void => {
      force = true;
      void evaluate();
    };
    const watchers: Watcher[] = prefixes.map((prefix) =>
      this.#store.watch({ key: prefix, prefix: true }, () => void evaluate()),
    );
    const timer = setTimeout(wake, this.timeoutFor(options.waitMs));
    signal?.addEventListener("abort", wake, { once: true });
    this.#waiting.add(wake);

    const settle = (): void => {
      settled = true;
      clearTimeout(timer);
      for (const watcher of watchers) watcher.cancel();
      signal?.removeEventListener("abort", wake);
      this.#waiting.delete(wake);
    };

    void evaluate();
    return promise;
  }

  /** Answers every waiting query now, and every later one at once: the master is shutting down. */
  close(): void {
    this.#closed = true;
    for (const wake of [...this.#waiting]) wake();
  }
}

/** An index is never 0: clients treat 0 as "no blocking" and would spin. */
function normalize<T>(result: QueryResult<T>): QueryResult<T> {
  return result.index >= 1 ? result : { index: 1, value: result.value };
}
