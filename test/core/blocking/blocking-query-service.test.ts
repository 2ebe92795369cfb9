import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BlockingQueryService, type QueryResult } from "../../../src/core/blocking/blocking-query-service.ts";
import type { StateStore } from "../../../src/store/state-store.ts";
import { openTestStore } from "../../support/test-store.ts";

/** A query over one prefix: its index is the prefix's last change, its value the number of keys. */
function prefixQuery(store: StateStore, prefix: string): () => Promise<QueryResult<number>> {
  return async () => ({ index: store.lastChange(prefix), value: (await store.range(prefix, { prefix: true })).count });
}

test("without an index (or index 0) the query answers at once", async (t) => {
  const store = await openTestStore(t);
  const service = new BlockingQueryService(store);
  await store.put("/kv/a", "1");
  const started = Date.now();
  const result = await service.blockingQuery({
    minIndex: 0,
    waitMs: 5_000,
    prefixes: ["/kv/"],
    run: prefixQuery(store, "/kv/"),
  });
  assert.deepEqual(result, { index: store.lastChange("/kv/"), value: 1 });
  assert.ok(Date.now() - started < 500);
});

test("an index behind the result answers at once", async (t) => {
  const store = await openTestStore(t);
  const service = new BlockingQueryService(store);
  const { revision } = await store.put("/kv/a", "1");
  const result = await service.blockingQuery({
    minIndex: revision - 1,
    waitMs: 5_000,
    prefixes: ["/kv/"],
    run: prefixQuery(store, "/kv/"),
  });
  assert.equal(result.index, revision);
});

test("the index is never 0", async (t) => {
  const store = await openTestStore(t);
  const service = new BlockingQueryService(store);
  const result = await service.blockingQuery({ minIndex: 0, prefixes: [], run: () => ({ index: 0, value: "x" }) });
  assert.deepEqual(result, { index: 1, value: "x" });
});

test("a waiting query wakes as soon as a key under its prefix changes, and releases its watch", async (t) => {
  const store = await openTestStore(t);
  const service = new BlockingQueryService(store);
  const { revision } = await store.put("/kv/a", "1");
  const started = Date.now();
  const pending = service.blockingQuery({
    minIndex: revision,
    waitMs: 10_000,
    prefixes: ["/kv/"],
    run: prefixQuery(store, "/kv/"),
  });
  await sleep(50);
  assert.equal(service.waitingCount, 1);
  assert.equal(store.watcherCount, 1);
  const write = await store.put("/kv/b", "2");
  const result = await pending;
  assert.deepEqual(result, { index: write.revision, value: 2 });
  assert.ok(Date.now() - started < 1_000, "woke by the change, not the timeout");
  assert.equal(service.waitingCount, 0);
  assert.equal(store.watcherCount, 0);
});

test("changes under other prefixes do not wake it; the timeout answers with the current index", async (t) => {
  const store = await openTestStore(t);
  const service = new BlockingQueryService(store);
  const { revision } = await store.put("/kv/a", "1");
  let runs = 0;
  const run = prefixQuery(store, "/kv/");
  const started = performance.now();
  const pending = service.blockingQuery({
    minIndex: revision,
    waitMs: 400,
    prefixes: ["/kv/"],
    run: () => {
      runs++;
      return run();
    },
  });
  await store.put("/catalog/x", "1");
  await store.put("/kvx", "not under /kv/");
  const result = await pending;
  const elapsed = performance.now() - started;
  assert.deepEqual(result, { index: revision, value: 1 });
  assert.ok(elapsed >= 395, `answered after ${elapsed} ms, before the wait`);
  assert.ok(elapsed < 400 + 400 / 16 + 150, `answered after ${elapsed} ms, past wait + jitter`);
  assert.equal(runs, 2, "one run to start, one at the timeout: unrelated writes ran nothing");
  assert.equal(store.watcherCount, 0);
});

test("a write that leaves the result's index unchanged keeps it waiting", async (t) => {
  const store = await openTestStore(t);
  const service = new BlockingQueryService(store);
  const { revision } = await store.put("/kv/a", "1");
  // The query watches /kv/ but its index only follows /kv/a/: /kv/b changes wake it without answering.
  const pending = service.blockingQuery({
    minIndex: revision,
    waitMs: 300,
    prefixes: ["/kv/"],
    run: () => ({ index: store.lastChange("/kv/a"), value: "a" }),
  });
  const started = performance.now();
  await store.put("/kv/b", "2");
  await pending;
  assert.ok(performance.now() - started >= 250);
});

test("jitter stays within wait/16, and the wait is defaulted and capped", async (t) => {
  const store = await openTestStore(t);
  const atMost = new BlockingQueryService(store, { random: () => 0.999999 });
  const atLeast = new BlockingQueryService(store, { random: () => 0 });
  assert.equal(atLeast.timeoutFor(16_000), 16_000);
  assert.ok(atMost.timeoutFor(16_000) < 17_000 && atMost.timeoutFor(16_000) > 16_999);
  assert.equal(atLeast.timeoutFor(undefined), 5 * 60_000);
  assert.equal(atLeast.timeoutFor(0), 5 * 60_000);
  assert.equal(atLeast.timeoutFor(3_600_000), 10 * 60_000);
  const randomized = new BlockingQueryService(store);
  for (let i = 0; i < 200; i++) {
    const timeout = randomized.timeoutFor(1_600);
    assert.ok(timeout >= 1_600 && timeout < 1_700, String(timeout));
  }
});

test("a client index ahead of the store answers at once", async (t) => {
  const store = await openTestStore(t);
  const service = new BlockingQueryService(store);
  const started = Date.now();
  const result = await service.blockingQuery({
    minIndex: store.currentRevision() + 1000,
    waitMs: 5_000,
    prefixes: ["/kv/"],
    run: prefixQuery(store, "/kv/"),
  });
  assert.ok(result.index >= 1);
  assert.ok(Date.now() - started < 500);
});

test("close() answers every waiting query at once, and later queries do not wait", async (t) => {
  const store = await openTestStore(t);
  const service = new BlockingQueryService(store);
  const { revision } = await store.put("/kv/a", "1");
  const options = { minIndex: revision, waitMs: 60_000, prefixes: ["/kv/"], run: prefixQuery(store, "/kv/") };
  const waiting = [service.blockingQuery(options), service.blockingQuery(options)];
  await sleep(20);
  assert.equal(service.waitingCount, 2);
  const started = Date.now();
  service.close();
  for (const result of await Promise.all(waiting)) assert.deepEqual(result, { index: revision, value: 1 });
  await service.blockingQuery(options);
  assert.ok(Date.now() - started < 500);
  assert.equal(store.watcherCount, 0);
});

test("aborting the signal answers at once", async (t) => {
  const store = await openTestStore(t);
  const service = new BlockingQueryService(store);
  const { revision } = await store.put("/kv/a", "1");
  const controller = new AbortController();
  const pending = service.blockingQuery({
    minIndex: revision,
    waitMs: 60_000,
    prefixes: ["/kv/"],
    run: prefixQuery(store, "/kv/"),
    signal: controller.signal,
  });
  await sleep(20);
  controller.abort();
  assert.equal((await pending).index, revision);
  assert.equal(service.waitingCount, 0);
});

test("a failing run rejects the query and releases its watch", async (t) => {
  const store = await openTestStore(t);
  const service = new BlockingQueryService(store);
  const { revision } = await store.put("/kv/a", "1");
  let calls = 0;
  const pending = service.blockingQuery({
    minIndex: revision,
    waitMs: 60_000,
    prefixes: ["/kv/"],
    run: () => {
      if (++calls > 1) throw new Error("boom");
      return { index: revision, value: null };
    },
  });
  await store.put("/kv/b", "2");
  await assert.rejects(pending, /boom/);
  assert.equal(store.watcherCount, 0);
  assert.equal(service.waitingCount, 0);
});

test("several prefixes: a change under any of them wakes the query", async (t) => {
  const store = await openTestStore(t);
  const service = new BlockingQueryService(store);
  const start = store.currentRevision();
  const pending = service.blockingQuery({
    minIndex: start,
    waitMs: 10_000,
    prefixes: ["/services/", "/nodes/"],
    run: () => ({ index: Math.max(store.lastChange("/services/"), store.lastChange("/nodes/")), value: null }),
  });
  const { revision } = await store.put("/nodes/n1", { up: true });
  assert.equal((await pending).index, revision);
});
