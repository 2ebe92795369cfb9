/** The sequence of workloads one store goes through, and what it reports. */

import { sampleMemory } from "../support/memory.ts";
import {
  type BenchStore,
  getThroughput,
  putThroughput,
  type RateResult,
  rangeThroughput,
  seedKeys,
  type WatchFanOutResult,
  watchFanOut,
  withIdleWatchers,
} from "./workloads.ts";

export interface SuitePlan {
  /** Length of each throughput measurement, ms. */
  readonly durationMs: number;
  /** Concurrent writers / readers for the "many" measurements. */
  readonly concurrency: number;
  /** Keys under the prefix that range reads return. */
  readonly rangeKeys: number;
  readonly watchers: number;
  readonly watchRounds: number;
}

export interface SuiteReport {
  readonly store: string;
  readonly watch: WatchFanOutResult;
  readonly putsOne: RateResult;
  readonly putsMany: RateResult;
  /** putsMany again, with `plan.watchers` watchers on other prefixes. */
  readonly putsManyIdleWatchers: RateResult;
  readonly rangeOne: RateResult;
  readonly getOne: RateResult;
  readonly getMany: RateResult;
}

export async function runSuite(
  store: BenchStore,
  plan: SuitePlan,
  log: (message: string) => void,
): Promise<SuiteReport> {
  const step = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
    log(`${label}…`);
    return await run();
  };
  // Watch fan-out first, while the processes are fresh, so their memory growth is the watchers'.
  const watch = await step(`watch fan-out, ${plan.watchers} watchers`, () =>
    watchFanOut(store, {
      prefix: "/bench/watch/",
      watchers: plan.watchers,
      rounds: plan.watchRounds,
      sampleMemory,
      log,
    }),
  );
  const putsOne = await step("durable puts, 1 writer", () =>
    putThroughput(store, { writers: 1, durationMs: plan.durationMs, prefix: "/bench/put1/" }),
  );
  const putsMany = await step(`durable puts, ${plan.concurrency} writers`, () =>
    putThroughput(store, { writers: plan.concurrency, durationMs: plan.durationMs, prefix: "/bench/putN/" }),
  );
  const putsManyIdleWatchers = await step(
    `durable puts, ${plan.concurrency} writers, ${plan.watchers} watchers on other prefixes`,
    () =>
      withIdleWatchers(store, { prefix: "/bench/idle/", count: plan.watchers }, () =>
        putThroughput(store, { writers: plan.concurrency, durationMs: plan.durationMs, prefix: "/bench/putW/" }),
      ),
  );
  const prefix = "/bench/range/";
  await step(`seeding ${plan.rangeKeys} keys`, () => seedKeys(store, prefix, plan.rangeKeys));
  const reads = { prefix, keys: plan.rangeKeys, durationMs: plan.durationMs };
  const rangeOne = await step(`prefix range over ${plan.rangeKeys} keys, 1 reader`, () =>
    rangeThroughput(store, { ...reads, readers: 1 }),
  );
  const getOne = await step("single-key get, 1 reader", () => getThroughput(store, { ...reads, readers: 1 }));
  const getMany = await step(`single-key get, ${plan.concurrency} readers`, () =>
    getThroughput(store, { ...reads, readers: plan.concurrency }),
  );
  return { store: store.name, watch, putsOne, putsMany, putsManyIdleWatchers, rangeOne, getOne, getMany };
}
