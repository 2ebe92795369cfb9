/**
 * Store workloads, written once against a tiny adapter so every store runs identical code.
 *
 * Adapters return decoded records (JSON parsed, revisions as numbers), so each store pays
 * for what a Berth caller would get back, not for raw bytes.
 */

import type { JsonValue } from "../../src/store/state-store.ts";
import type { MemorySample } from "../support/memory.ts";
import { median, percentiles, Samples } from "../support/stats.ts";

/** What a workload needs from a store. */
export interface BenchStore {
  readonly name: string;
  /** A durable put: resolves once the write would survive a crash. */
  put(key: string, value: JsonValue): Promise<void>;
  /** One key, decoded; undefined when missing. */
  get(key: string): Promise<JsonValue | undefined>;
  /** Every key under the prefix, decoded; resolves to how many were returned. */
  range(prefix: string): Promise<number>;
  /** Watch a prefix from now on; resolves once the watch is registered (no later event is missed). */
  watch(prefix: string, onEvents: (count: number) => void): Promise<BenchWatch>;
  /** Memory of the store's server process when it runs out of process. */
  serverMemory?(): Promise<ServerMemory>;
  close(): Promise<void>;
}

export interface ServerMemory {
  /** Resident set size, bytes. */
  readonly rss: number;
  /** Heap in use after a forced GC, bytes, when the server exposes it. */
  readonly heap: number | undefined;
}

export interface BenchWatch {
  cancel(): Promise<void>;
}

export interface RateResult {
  readonly ops: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface WatchFanOutResult {
  readonly watchers: number;
  readonly rounds: number;
  /** Time to register all watchers, seconds. */
  readonly createSeconds: number;
  /** Median over rounds: put issued → first watcher has the event, ms. */
  readonly firstMs: number;
  /** Median over rounds: put issued → every watcher has the event, ms. */
  readonly allMs: number;
  /** Worst round of allMs. */
  readonly allMsMax: number;
  /** Median over rounds: put issued → put acknowledged, ms. */
  readonly putMs: number;
  /** Events received beyond one per watcher per round (should be 0). */
  readonly extraEvents: number;
  /** Growth per watcher of this process's V8 heap (after full GC), bytes. */
  readonly heapPerWatcher: number;
  /** Growth per watcher of this process's RSS, bytes. */
  readonly rssPerWatcher: number;
  /** Growth per watcher of the store server's RSS, bytes; undefined for in-process stores. */
  readonly serverRssPerWatcher: number | undefined;
  /** Growth per watcher of the store server's heap after GC, bytes; undefined when unknown. */
  readonly serverHeapPerWatcher: number | undefined;
}

/** A service-record-like value of about 250 bytes of JSON. */
export function sampleValue(seq: number): JsonValue {
  return {
    name: `web-${seq % 97}`,
    image: "registry.example.com/team/web:1.27.3",
    replicas: 3,
    state: "running",
    env: { NODE_ENV: "production", PORT: "8080", LOG_LEVEL: "info" },
    labels: { "berth.stack": "shop", "berth.grid": "default", tier: "frontend" },
    updated_at: "2026-01-01T00:00:00.000Z",
    seq,
  };
}

/**
 * Run `op` in `workers` closed loops (each awaits its op before the next) for `durationMs`.
 * Latency is measured per op; throughput is completed ops over wall time.
 */
export async function closedLoop(
  workers: number,
  durationMs: number,
  op: (worker: number, seq: number) => Promise<unknown>,
): Promise<RateResult> {
  const latencies = new Samples();
  const start = performance.now();
  const deadline = start + durationMs;
  const loop = async (worker: number): Promise<void> => {
    for (let seq = 0; performance.now() < deadline; seq++) {
      const t0 = performance.now();
      await op(worker, seq);
      latencies.add(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, worker) => loop(worker)));
  const seconds = (performance.now() - start) / 1000;
  const [p50Ms = Number.NaN, p99Ms = Number.NaN] = percentiles(latencies.values(), [50, 99]);
  return { ops: latencies.length, seconds, perSecond: latencies.length / seconds, p50Ms, p99Ms };
}

/** Durable puts: each writer overwrites its own `keysPerWriter` keys round-robin. */
export function putThroughput(
  store: BenchStore,
  options: { writers: number; durationMs: number; prefix: string; keysPerWriter?: number },
): Promise<RateResult> {
  const keysPerWriter = options.keysPerWriter ?? 1000;
  return closedLoop(options.writers, options.durationMs, (worker, seq) =>
    store.put(`${options.prefix}w${worker}/${seq % keysPerWriter}`, sampleValue(seq)),
  );
}

/**
 * Run `body` while `count` watchers sit on distinct prefixes (`${prefix}<i>/`) that its writes do
 * not touch: what idle watchers (e.g. blocking queries on other services) cost everyone else.
 */
export async function withIdleWatchers<T>(
  store: BenchStore,
  options: { prefix: string; count: number },
  body: () => Promise<T>,
): Promise<T> {
  const onEvents = (): void => {
    throw new Error(`${store.name}: an idle watcher got an event`);
  };
  const handles = await Promise.all(
    Array.from({ length: options.count }, (_, i) => store.watch(`${options.prefix}${i}/`, onEvents)),
  );
  try {
    return await body();
  } finally {
    await Promise.all(handles.map((handle) => handle.cancel()));
  }
}

/** Write `count` keys `${prefix}000000`… with `concurrency` writers in flight. */
export async function seedKeys(store: BenchStore, prefix: string, count: number, concurrency = 32): Promise<void> {
  let next = 0;
  const writer = async (): Promise<void> => {
    while (next < count) {
      const seq = next++;
      await store.put(seedKey(prefix, seq), sampleValue(seq));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, writer));
}

function seedKey(prefix: string, seq: number): string {
  return `${prefix}${String(seq).padStart(6, "0")}`;
}

/** Prefix ranges over `keys` seeded keys (seed them first), by `readers` closed loops. */
export async function rangeThroughput(
  store: BenchStore,
  options: { prefix: string; keys: number; readers: number; durationMs: number },
): Promise<RateResult> {
  const got = await store.range(options.prefix);
  if (got !== options.keys) throw new Error(`${store.name}: range returned ${got} keys, expected ${options.keys}`);
  return closedLoop(options.readers, options.durationMs, () => store.range(options.prefix));
}

/** Single-key gets spread over `keys` seeded keys, by `readers` closed loops. */
export async function getThroughput(
  store: BenchStore,
  options: { prefix: string; keys: number; readers: number; durationMs: number },
): Promise<RateResult> {
  if ((await store.get(seedKey(options.prefix, options.keys - 1))) === undefined) {
    throw new Error(`${store.name}: seeded key missing`);
  }
  // A stride coprime with typical key counts, so readers spread over the keys.
  return closedLoop(options.readers, options.durationMs, (worker, seq) =>
    store.get(seedKey(options.prefix, (worker * 7919 + seq * 104_729) % options.keys)),
  );
}

/**
 * Register `watchers` watches on one prefix, then, `rounds` times, put one key under it and
 * time until every watcher has the event. Memory is sampled before and after registering.
 */
export async function watchFanOut(
  store: BenchStore,
  options: {
    prefix: string;
    watchers: number;
    rounds: number;
    sampleMemory: () => Promise<MemorySample>;
    /** Per round; default 60 s. */
    timeoutMs?: number;
    log?: (message: string) => void;
  },
): Promise<WatchFanOutResult> {
  const { watchers: n, prefix } = options;
  const perWatcher = (before: number | undefined, after: number | undefined): number | undefined =>
    before === undefined || after === undefined ? undefined : (after - before) / n;
  let received = 0;
  let target = 0;
  let firstAt = 0;
  let onAll: (() => void) | undefined;
  const onEvents = (count: number): void => {
    if (received === target - n) firstAt = performance.now();
    received += count;
    if (received >= target && onAll !== undefined) {
      const done = onAll;
      onAll = undefined;
      done();
    }
  };

  const serverBefore = await store.serverMemory?.();
  const before = await options.sampleMemory();
  const createStart = performance.now();
  const handles = await Promise.all(Array.from({ length: n }, () => store.watch(prefix, onEvents)));
  const createSeconds = (performance.now() - createStart) / 1000;
  const after = await options.sampleMemory();
  const serverAfter = await store.serverMemory?.();
  options.log?.(`${n} watchers registered in ${createSeconds.toFixed(2)} s`);

  const firstMs: number[] = [];
  const allMs: number[] = [];
  const putMs: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    target += n;
    const allDelivered = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${store.name}: only ${received - (target - n)} of ${n} watchers got round ${round}`)),
        options.timeoutMs ?? 60_000,
      );
      onAll = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    const t0 = performance.now();
    await store.put(`${prefix}round`, sampleValue(round));
    putMs.push(performance.now() - t0);
    await allDelivered;
    allMs.push(performance.now() - t0);
    firstMs.push(firstAt - t0);
    // Let stragglers (duplicates) arrive before the next round.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const extraEvents = received - target;

  await Promise.all(handles.map((handle) => handle.cancel()));
  return {
    watchers: n,
    rounds: options.rounds,
    createSeconds,
    firstMs: median(firstMs),
    allMs: median(allMs),
    allMsMax: Math.max(...allMs),
    putMs: median(putMs),
    extraEvents,
    heapPerWatcher: (after.heapUsed + after.external - before.heapUsed - before.external) / n,
    rssPerWatcher: (after.rss - before.rss) / n,
    serverRssPerWatcher: perWatcher(serverBefore?.rss, serverAfter?.rss),
    serverHeapPerWatcher: perWatcher(serverBefore?.heap, serverAfter?.heap),
  };
}
