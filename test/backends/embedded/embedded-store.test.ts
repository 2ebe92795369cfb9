import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout } from "node:timers/promises";
import { EmbeddedStore } from "../../../src/backends/embedded/embedded-store.ts";
import { StoreClosedError } from "../../../src/store/errors/store-closed-error.ts";
import { runStateStoreContract, WatchRecorder } from "../../store/state-store-contract.ts";

const root = mkdtempSync(join(tmpdir(), "berth-embedded-"));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const newPath = () => join(root, `store-${counter++}`, "berth.db");
const writerScript = new URL("../../support/store-writer.ts", import.meta.url).pathname;

runStateStoreContract({
  name: "embedded (SQLite)",
  async location() {
    const path = newPath();
    return {
      open: () => EmbeddedStore.open({ path }),
      writerCommand: [process.execPath, writerScript, "--path", path],
    };
  },
});

describe("embedded store specifics", () => {
  it("commits concurrent writers together (group commit)", async () => {
    const store = await EmbeddedStore.open({ path: newPath() });
    const before = store.commitCount;
    await Promise.all(Array.from({ length: 32 }, (_, i) => store.put(`/g/${i}`, i)));
    assert.ok(store.commitCount - before <= 2, `32 concurrent puts took ${store.commitCount - before} commits`);
    await store.close();
  });

  it("serves 10,000 watchers on one prefix from one put", async () => {
    const store = await EmbeddedStore.open({ path: newPath() });
    let delivered = 0;
    for (let i = 0; i < 10_000; i++) store.watch({ key: "/fan/", prefix: true }, () => delivered++);
    assert.equal(store.watcherCount, 10_000);
    const recorder = new WatchRecorder();
    store.watch({ key: "/fan/", prefix: true }, recorder.listener);
    await store.put("/fan/x", 1);
    await recorder.until(() => recorder.events.length === 1);
    assert.equal(delivered, 10_000);
    await store.close();
  });

  it("matches by the key's own prefixes when many prefixes are watched", async () => {
    const store = await EmbeddedStore.open({ path: newPath() });
    const seen: string[] = [];
    for (let i = 0; i < 200; i++) store.watch({ key: `/p/${i}`, prefix: true }, () => seen.push(`/p/${i}`));
    store.watch({ key: "", prefix: true }, () => seen.push("(all)"));
    const recorder = new WatchRecorder();
    store.watch({ key: "/p/12" }, recorder.listener);
    await store.put("/p/12", 1);
    await recorder.until(() => recorder.events.length === 1 && seen.length >= 3);
    await setTimeout(20);
    assert.deepEqual(seen.sort(), ["(all)", "/p/1", "/p/12"]);
    await store.close();
  });

  it("compacts automatically, keeping the configured window", async () => {
    const store = await EmbeddedStore.open({ path: newPath(), retainRevisions: 20 });
    for (let i = 0; i < 60; i++) await store.put("/auto", i);
    await store.put("/auto", "last");
    assert.ok(store.compactRevision() > 1, "history was compacted");
    assert.ok(store.currentRevision() - store.compactRevision() <= 22);
    assert.equal((await store.get("/auto"))?.value, "last");
    await store.close();
  });

  it("drains queued writes on close and then refuses work", async () => {
    const path = newPath();
    const store = await EmbeddedStore.open({ path });
    const pending = store.put("/late", 1);
    await store.close();
    assert.equal((await pending).revision, 2);
    await assert.rejects(store.put("/after", 1), StoreClosedError);
    const reopened = await EmbeddedStore.open({ path });
    assert.equal((await reopened.get("/late"))?.value, 1);
    await reopened.close();
  });

  it("keeps the SQLite file in WAL mode", async () => {
    const path = newPath();
    const store = await EmbeddedStore.open({ path });
    await store.put("/wal", 1);
    await store.close();
    // Byte 18 of the header is the write version: 2 means WAL.
    assert.equal(readFileSync(path)[18], 2);
  });
});
