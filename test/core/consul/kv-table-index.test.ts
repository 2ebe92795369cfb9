import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { kvStoreKey } from "../../../src/core/consul/consul-keys.ts";
import { KvTableIndex } from "../../../src/core/consul/kv-table-index.ts";
import { openTestStore } from "../../support/test-store.ts";

test("a datacenter's KV index follows its puts and deletes, and nothing else", async (t) => {
  const store = await openTestStore(t);
  await store.put(kvStoreKey("dc1", "a"), { value: null, flags: "0", lockIndex: 0 });
  const index = new KvTableIndex(store);
  assert.equal(index.of("dc1"), store.currentRevision());
  assert.equal(index.of("dc2"), 1);
  await store.put("/consul/dc1/sessions/s", {});
  await store.put(kvStoreKey("dc2", "b"), { value: null, flags: "0", lockIndex: 0 });
  const dc2Write = store.currentRevision();
  await store.delete(kvStoreKey("dc1", "a"));
  await sleep(0);
  assert.equal(index.of("dc1"), store.currentRevision(), "the delete counts");
  assert.equal(index.of("dc2"), dc2Write);
});
