// The contract every state store backend must pass. A backend's test file calls
// runStateStoreContract with a fixture; the suite knows nothing about the backend.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CompactedError } from "../../src/store/errors/compacted-error.ts";
import { FutureRevisionError } from "../../src/store/errors/future-revision-error.ts";
import { InvalidArgumentError } from "../../src/store/errors/invalid-argument-error.ts";
import { InvalidKeyError } from "../../src/store/errors/invalid-key-error.ts";
import { InvalidValueError } from "../../src/store/errors/invalid-value-error.ts";
import { LeaseNotFoundError } from "../../src/store/errors/lease-not-found-error.ts";
import type { StateStore, WatchBatch, WatchEvent } from "../../src/store/state-store.ts";

export interface StoreLocation {
  /** Open (or reopen) the store at this location. */
  open(): Promise<StateStore>;
  /** argv of a child process that opens the location and writes in a loop (see test/support/store-writer.ts). */
  readonly writerCommand: string[];
}

export interface BackendFixture {
  readonly name: string;
  /** A new, empty location. */
  location(): Promise<StoreLocation>;
}

/** Collects watch batches and lets a test wait for a condition on them. */
export class WatchRecorder {
  readonly batches: WatchBatch[] = [];
  #waiters: (() => void)[] = [];

  readonly listener = (batch: WatchBatch): void => {
    this.batches.push(batch);
    for (const wake of this.#waiters.splice(0)) wake();
  };

  get events(): WatchEvent[] {
    return this.batches.flatMap((batch) => batch.events);
  }

  async until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`watch condition not met in ${timeoutMs} ms; saw ${this.events.length} events`);
      await Promise.race([new Promise<void>((resolve) => this.#waiters.push(resolve)), sleep(Math.min(left, 100))]);
    }
  }
}

export function runStateStoreContract(fixture: BackendFixture): void {
  const opened: StateStore[] = [];
  async function fresh(): Promise<StateStore> {
    const store = await (await fixture.location()).open();
    opened.push(store);
    return store;
  }
  after(async () => {
    await Promise.allSettled(opened.map((store) => store.close()));
  });

  describe(`state store contract: ${fixture.name}`, () => {
    describe("revisions and records", () => {
      it("starts at revision 1 and bumps one global revision per write", async () => {
        const store = await fresh();
        assert.equal(store.currentRevision(), 1);
        const a = await store.put("/a", { n: 1 });
        const b = await store.put("/b", "two");
        assert.equal(a.revision, 2);
        assert.equal(b.revision, 3);
        assert.equal(store.currentRevision(), 3);
      });

      it("tracks create_revision, mod_revision, version and lease per key", async () => {
        const store = await fresh();
        const first = await store.put("/k", 1);
        await store.put("/other", 0);
        const second = await store.put("/k", 2, { prevKv: true });
        assert.deepEqual(second.prev, {
          key: "/k",
          value: 1,
          create_revision: first.revision,
          mod_revision: first.revision,
          version: 1,
          lease: 0,
        });
        assert.deepEqual(await store.get("/k"), {
          key: "/k",
          value: 2,
          create_revision: first.revision,
          mod_revision: second.revision,
          version: 2,
          lease: 0,
        });
        await store.delete("/k");
        const recreated = await store.put("/k", 3);
        const kv = await store.get("/k");
        assert.equal(kv?.create_revision, recreated.revision, "a deleted key starts a new life");
        assert.equal(kv?.version, 1);
      });

      it("ranges a prefix in key order with limit, count, keys-only and count-only", async () => {
        const store = await fresh();
        for (const name of ["c", "a", "b", "d"]) await store.put(`/p/${name}`, { name });
        await store.put("/q/x", 1);
        const all = await store.range("/p/", { prefix: true });
        assert.deepEqual(
          all.kvs.map((kv) => kv.key),
          ["/p/a", "/p/b", "/p/c", "/p/d"],
        );
        assert.equal(all.count, 4);
        assert.equal(all.more, false);
        const limited = await store.range("/p/", { prefix: true, limit: 2 });
        assert.deepEqual(
          limited.kvs.map((kv) => kv.key),
          ["/p/a", "/p/b"],
        );
        assert.equal(limited.count, 4);
        assert.equal(limited.more, true);
        const keysOnly = await store.range("/p/", { prefix: true, keysOnly: true });
        assert.ok(keysOnly.kvs.every((kv) => kv.value === null));
        const countOnly = await store.range("/p/", { prefix: true, countOnly: true });
        assert.deepEqual(countOnly.kvs, []);
        assert.equal(countOnly.count, 4);
        assert.equal((await store.range("", { prefix: true })).count, 5, "the empty prefix is every key");
        assert.equal(all.revision, store.currentRevision());
      });

      it("reads as of a past revision", async () => {
        const store = await fresh();
        const r1 = await store.put("/h", "one");
        const r2 = await store.put("/h", "two");
        await store.delete("/h");
        assert.equal((await store.get("/h", { revision: r1.revision }))?.value, "one");
        assert.equal((await store.get("/h", { revision: r2.revision }))?.value, "two");
        assert.equal(await store.get("/h"), undefined);
        assert.equal((await store.range("/h", { revision: r1.revision - 1 })).count, 0);
        await assert.rejects(store.get("/h", { revision: store.currentRevision() + 5 }), FutureRevisionError);
      });

      it("deletes a key or a prefix at one revision, and bumps nothing when nothing is deleted", async () => {
        const store = await fresh();
        await store.put("/d/1", 1);
        await store.put("/d/2", 2);
        await store.put("/d2", "not under /d/");
        const before = store.currentRevision();
        const removed = await store.delete("/d/", { prefix: true, prevKv: true });
        assert.equal(removed.deleted, 2);
        assert.equal(removed.revision, before + 1);
        assert.deepEqual(
          removed.prev?.map((kv) => kv.value),
          [1, 2],
        );
        assert.equal((await store.range("/d", { prefix: true })).count, 1);
        const none = await store.delete("/missing");
        assert.equal(none.deleted, 0);
        assert.equal(none.revision, before + 1);
        assert.equal(store.currentRevision(), before + 1);
      });

      it("returns records the caller cannot corrupt", async () => {
        const store = await fresh();
        const value = { list: [1, 2] };
        await store.put("/frozen", value);
        value.list.push(3);
        const kv = await store.get("/frozen");
        assert.ok(kv);
        assert.deepEqual(kv.value, { list: [1, 2] });
        assert.throws(() => {
          (kv.value as { list: number[] }).list.push(4);
        }, /not extensible|read only/);
      });
    });

    describe("transactions", () => {
      it("runs the success branch when every compare holds, the failure branch otherwise", async () => {
        const store = await fresh();
        const { revision } = await store.put("/t", { v: 1 });
        const ok = await store.txn({
          compare: [
            { key: "/t", target: "value", op: "==", value: { v: 1 } },
            { key: "/t", target: "version", op: "==", value: 1 },
            { key: "/t", target: "mod_revision", op: "==", value: revision },
            { key: "/t", target: "create_revision", op: "<", value: revision + 1 },
            { key: "/missing", target: "version", op: "==", value: 0 },
          ],
          success: [
            { type: "put", key: "/t", value: { v: 2 } },
            { type: "put", key: "/t2", value: "x" },
            { type: "range", key: "/t" },
          ],
          failure: [{ type: "put", key: "/failed", value: true }],
        });
        assert.equal(ok.succeeded, true);
        assert.equal(ok.revision, revision + 1, "one revision for the whole transaction");
        const read = ok.results[2];
        assert.equal(read?.type, "range");
        assert.deepEqual(
          read?.type === "range" ? read.kvs[0]?.value : undefined,
          { v: 2 },
          "a range sees earlier writes of its txn",
        );
        assert.equal((await store.get("/t2"))?.mod_revision, revision + 1);

        const no = await store.txn({
          compare: [{ key: "/t", target: "value", op: "==", value: { v: 1 } }],
          success: [{ type: "put", key: "/never", value: 1 }],
          failure: [{ type: "put", key: "/failed", value: true }],
        });
        assert.equal(no.succeeded, false);
        assert.equal(await store.get("/never"), undefined);
        assert.equal((await store.get("/failed"))?.value, true);
      });

      it("treats a value compare on a missing key as false", async () => {
        const store = await fresh();
        const result = await store.txn({
          compare: [{ key: "/nope", target: "value", op: "!=", value: 1 }],
          success: [{ type: "put", key: "/x", value: 1 }],
        });
        assert.equal(result.succeeded, false);
      });

      it("is all-or-nothing: a transaction that cannot finish writes nothing", async () => {
        const store = await fresh();
        await store.put("/keep", "original");
        const before = store.currentRevision();
        await assert.rejects(
          store.txn({
            compare: [],
            success: [
              { type: "put", key: "/keep", value: "changed" },
              { type: "put", key: "/leased", value: 1, lease: 987654321 },
            ],
          }),
          LeaseNotFoundError,
        );
        assert.equal((await store.get("/keep"))?.value, "original");
        assert.equal(store.currentRevision(), before);
        await assert.rejects(
          store.txn({
            compare: [],
            success: [
              { type: "put", key: "/keep", value: "a" },
              { type: "put", key: "/bad", value: { f: () => 1 } as never },
            ],
          }),
          InvalidValueError,
        );
        await assert.rejects(
          store.txn({
            compare: [],
            success: [
              { type: "put", key: "/dup", value: 1 },
              { type: "put", key: "/dup", value: 2 },
            ],
          }),
          InvalidArgumentError,
        );
        assert.equal((await store.get("/keep"))?.value, "original");
        assert.equal(store.currentRevision(), before);
      });

      it("lets exactly one of many concurrent create-if-absent writers win", async () => {
        const store = await fresh();
        const attempts = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.txn({
              compare: [{ key: "/leader", target: "create_revision", op: "==", value: 0 }],
              success: [{ type: "put", key: "/leader", value: i }],
            }),
          ),
        );
        const winners = attempts.filter((attempt) => attempt.succeeded);
        assert.equal(winners.length, 1);
      });

      it("loses no increment when 32 writers race compare-and-swap on one counter", async () => {
        const store = await fresh();
        await store.put("/counter", 0);
        let successes = 0;
        const writer = async () => {
          for (let done = 0; done < 10; ) {
            const current = (await store.get("/counter"))!;
            const result = await store.txn({
              compare: [{ key: "/counter", target: "mod_revision", op: "==", value: current.mod_revision }],
              success: [{ type: "put", key: "/counter", value: (current.value as number) + 1 }],
            });
            if (result.succeeded) {
              successes++;
              done++;
            }
          }
        };
        await Promise.all(Array.from({ length: 32 }, writer));
        assert.equal(successes, 320);
        assert.equal((await store.get("/counter"))?.value, 320);
      });
    });

    describe("watches", () => {
      it("replays from an old revision, then follows live changes, in order", async () => {
        const store = await fresh();
        const start = (await store.put("/w/a", 1)).revision;
        await store.put("/w/b", 2);
        await store.put("/elsewhere", 0);
        await store.delete("/w/a");
        const recorder = new WatchRecorder();
        const watcher = store.watch({ key: "/w/", prefix: true, fromRevision: start }, recorder.listener);
        await store.put("/w/c", 3);
        await recorder.until(() => recorder.events.length === 4);
        watcher.cancel();
        assert.deepEqual(
          recorder.events.map((event) => `${event.type} ${event.kv.key} ${event.kv.mod_revision}`),
          [`put /w/a ${start}`, `put /w/b ${start + 1}`, `delete /w/a ${start + 3}`, `put /w/c ${start + 4}`],
        );
        const revisions = recorder.batches.map((batch) => batch.revision);
        assert.deepEqual(
          revisions,
          [...revisions].sort((x, y) => x - y),
        );
      });

      it("delivers a multi-key transaction as one batch and can include previous values", async () => {
        const store = await fresh();
        await store.put("/m/1", "old");
        const recorder = new WatchRecorder();
        store.watch({ key: "/m/", prefix: true, prevKv: true }, recorder.listener);
        await store.txn({
          compare: [],
          success: [
            { type: "put", key: "/m/1", value: "new" },
            { type: "put", key: "/m/2", value: "fresh" },
          ],
        });
        await recorder.until(() => recorder.batches.length === 1);
        assert.equal(recorder.batches[0]?.events.length, 2);
        assert.equal(recorder.batches[0]?.events[0]?.prev?.value, "old");
      });

      it("watches one exact key without seeing its siblings", async () => {
        const store = await fresh();
        const recorder = new WatchRecorder();
        store.watch({ key: "/x" }, recorder.listener);
        await store.put("/xy", 1);
        await store.put("/x", 2);
        await recorder.until(() => recorder.events.length >= 1);
        await sleep(20);
        assert.deepEqual(
          recorder.events.map((event) => event.kv.key),
          ["/x"],
        );
      });

      it("resumes without gaps or duplicates from the last revision seen", async () => {
        const store = await fresh();
        const first = new WatchRecorder();
        const watcher = store.watch({ key: "/r/", prefix: true }, first.listener);
        await store.put("/r/1", 1);
        await first.until(() => first.events.length === 1);
        watcher.cancel();
        await store.put("/r/2", 2);
        await store.put("/r/3", 3);
        const resumed = new WatchRecorder();
        store.watch({ key: "/r/", prefix: true, fromRevision: first.batches.at(-1)!.revision + 1 }, resumed.listener);
        await resumed.until(() => resumed.events.length === 2);
        assert.deepEqual(
          resumed.events.map((event) => event.kv.key),
          ["/r/2", "/r/3"],
        );
      });

      it("stops delivering after cancel", async () => {
        const store = await fresh();
        const recorder = new WatchRecorder();
        const watcher = store.watch({ key: "/c/", prefix: true }, recorder.listener);
        watcher.cancel();
        await store.put("/c/1", 1);
        await sleep(20);
        assert.equal(recorder.events.length, 0);
      });

      it("refuses a watch from a compacted revision with a clear error", async () => {
        const store = await fresh();
        const old = (await store.put("/old", 1)).revision;
        await store.put("/old", 2);
        const latest = (await store.put("/old", 3)).revision;
        await store.compact(latest);
        assert.throws(
          () => store.watch({ key: "/old", fromRevision: old }, () => {}),
          (error: unknown) => error instanceof CompactedError && /compacted/.test(error.message),
        );
        await assert.rejects(store.get("/old", { revision: old }), CompactedError);
        assert.equal((await store.get("/old", { revision: latest }))?.value, 3);
        assert.equal((await store.get("/old"))?.value, 3);
        await assert.rejects(store.compact(latest), CompactedError);
        await assert.rejects(store.compact(latest + 100), FutureRevisionError);
      });
    });

    describe("leases", () => {
      it("deletes attached keys when the lease expires, with watch events", async () => {
        const store = await fresh();
        const lease = await store.grantLease(1);
        await store.put("/l/attached", "bye", { lease: lease.id });
        await store.put("/l/free", "stay");
        assert.equal((await store.get("/l/attached"))?.lease, lease.id);
        assert.deepEqual(store.leaseInfo(lease.id)?.keys, ["/l/attached"]);
        const recorder = new WatchRecorder();
        store.watch({ key: "/l/", prefix: true }, recorder.listener);
        await recorder.until(() => recorder.events.some((event) => event.type === "delete"), 4000);
        assert.equal(await store.get("/l/attached"), undefined);
        assert.equal((await store.get("/l/free"))?.value, "stay");
        assert.equal(store.leaseInfo(lease.id), undefined);
        await assert.rejects(store.keepAlive(lease.id), LeaseNotFoundError);
      });

      it("keeps a lease alive while it is renewed", async () => {
        const store = await fresh();
        const lease = await store.grantLease(1);
        await store.put("/ka", 1, { lease: lease.id });
        for (let i = 0; i < 4; i++) {
          await sleep(400);
          assert.equal((await store.keepAlive(lease.id)).ttl, 1);
        }
        assert.equal((await store.get("/ka"))?.value, 1, "alive after 1.6 s of a 1 s lease");
        assert.ok((store.leaseInfo(lease.id)?.remaining ?? 0) > 0.5);
      });

      it("revokes a lease and its keys at once", async () => {
        const store = await fresh();
        const lease = await store.grantLease(60);
        await store.put("/rv/1", 1, { lease: lease.id });
        await store.put("/rv/2", 2, { lease: lease.id });
        const before = store.currentRevision();
        await store.revokeLease(lease.id);
        assert.equal((await store.range("/rv/", { prefix: true })).count, 0);
        assert.equal(store.currentRevision(), before + 1, "both keys go in one revision");
        await assert.rejects(store.revokeLease(lease.id), LeaseNotFoundError);
        await assert.rejects(store.put("/rv/3", 3, { lease: lease.id }), LeaseNotFoundError);
      });

      it("detaches a key from its lease when it is overwritten without one", async () => {
        const store = await fresh();
        const lease = await store.grantLease(60);
        await store.put("/det", 1, { lease: lease.id });
        await store.put("/det", 2);
        await store.revokeLease(lease.id);
        assert.equal((await store.get("/det"))?.value, 2);
      });
    });

    describe("bad input", () => {
      it("rejects malformed keys with InvalidKeyError and writes nothing", async () => {
        const store = await fresh();
        const before = store.currentRevision();
        for (const key of ["", "a\0b", "bad\uD800", "x".repeat(5000)]) {
          await assert.rejects(store.put(key, 1), InvalidKeyError, JSON.stringify(key.slice(0, 10)));
        }
        await assert.rejects(store.put(42 as unknown as string, 1), InvalidKeyError);
        assert.throws(() => store.watch({ key: "" }, () => {}), InvalidKeyError);
        assert.equal(store.currentRevision(), before);
      });

      it("rejects values that are not plain JSON with InvalidValueError naming where", async () => {
        const store = await fresh();
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        const bad: [unknown, RegExp][] = [
          [undefined, /\$: a undefined/],
          [() => 1, /function/],
          [Number.NaN, /NaN/],
          [Number.POSITIVE_INFINITY, /Infinity/],
          [10n, /bigint/],
          [cyclic, /cycle/],
          [new Date(), /Date instance/],
          [{ nested: { list: [1, undefined] } }, /\$\.nested\.list\[1\]/],
          [{ text: "lone \uDC00" }, /well-formed/],
        ];
        for (const [value, message] of bad) {
          await assert.rejects(
            store.put("/v", value as never),
            (error: unknown) => error instanceof InvalidValueError && message.test(error.message),
          );
        }
        assert.equal(store.currentRevision(), 1);
      });

      it("rejects bad options", async () => {
        const store = await fresh();
        await assert.rejects(store.grantLease(0), InvalidArgumentError);
        await assert.rejects(store.grantLease(Number.NaN), InvalidArgumentError);
        await assert.rejects(store.range("/a", { limit: -1 }), InvalidArgumentError);
        await assert.rejects(
          store.txn({ compare: [{ key: "/a", target: "value", op: "<", value: 1 }], success: [] }),
          InvalidArgumentError,
        );
        await assert.rejects(
          store.txn({ compare: [{ key: "/a", target: "version", op: "==", value: "1" }], success: [] }),
          InvalidArgumentError,
        );
        assert.throws(() => store.watch({ key: "/a", fromRevision: 0 }, () => {}), InvalidArgumentError);
      });
    });

    describe("durability", () => {
      it("recovers data, revisions, compaction point and lease deadlines after a restart", async () => {
        const location = await fixture.location();
        const store = await location.open();
        const lease = await store.grantLease(30);
        await store.put("/keep/a", { a: 1 });
        await store.put("/keep/leased", "x", { lease: lease.id });
        await store.put("/keep/a", { a: 2 });
        await store.compact(store.currentRevision() - 1);
        const revision = store.currentRevision();
        const remainingBefore = store.leaseInfo(lease.id)!.remaining;
        await store.close();

        const reopened = await location.open();
        opened.push(reopened);
        assert.equal(reopened.currentRevision(), revision);
        assert.equal(reopened.compactRevision(), revision - 1);
        assert.deepEqual((await reopened.get("/keep/a"))?.value, { a: 2 });
        assert.equal((await reopened.get("/keep/a"))?.version, 2);
        const info = reopened.leaseInfo(lease.id);
        assert.ok(info, "lease survives a restart");
        assert.ok(
          info.remaining <= remainingBefore && info.remaining > remainingBefore - 5,
          "deadline kept, not reset",
        );
        assert.deepEqual(info.keys, ["/keep/leased"]);
        assert.equal((await reopened.put("/keep/b", 1)).revision, revision + 1);
      });

      it("expires, after a restart, leases whose deadline passed while the store was down", async () => {
        const location = await fixture.location();
        const store = await location.open();
        const lease = await store.grantLease(1);
        await store.put("/gone", 1, { lease: lease.id });
        await store.close();
        await sleep(1200);
        const reopened = await location.open();
        opened.push(reopened);
        const recorder = new WatchRecorder();
        reopened.watch({ key: "/gone", fromRevision: 1 }, recorder.listener);
        await recorder.until(() => recorder.events.some((event) => event.type === "delete"), 3000);
        assert.equal(await reopened.get("/gone"), undefined);
      });

      it("keeps every acknowledged write when the writing process is killed with SIGKILL", async () => {
        const location = await fixture.location();
        const [command, ...args] = location.writerCommand;
        const child = spawn(command!, args, { stdio: ["ignore", "pipe", "inherit"] });
        const acknowledged = new Map<string, number>();
        let leaseId = 0;
        const lines = createInterface({ input: child.stdout! });
        const enough = new Promise<void>((resolve) => {
          lines.on("line", (line) => {
            const [kind, key, revision] = line.split(" ");
            if (kind === "lease") leaseId = Number(key);
            if (kind === "ack") acknowledged.set(key!, Number(revision));
            if (acknowledged.size >= 2000) resolve();
          });
        });
        await Promise.race([enough, once(child, "exit").then(() => assert.fail("writer exited early"))]);
        child.kill("SIGKILL");
        await once(child, "exit");
        lines.close();

        const store = await location.open();
        opened.push(store);
        const stored = new Map((await store.range("/durable/", { prefix: true })).kvs.map((kv) => [kv.key, kv]));
        for (const [key, revision] of acknowledged) {
          const kv = stored.get(key);
          assert.ok(kv, `acknowledged write ${key} (revision ${revision}) is missing after SIGKILL`);
          assert.equal(kv.mod_revision, revision);
        }
        assert.ok(store.currentRevision() >= Math.max(...acknowledged.values()));
        assert.ok(store.leaseInfo(leaseId), "the lease granted before the kill survives");
      });
    });
  });
}
