import assert from "node:assert/strict";
import { test } from "node:test";
import { CONFIG_KEY, ConfigService } from "../../../src/core/config/config-service.ts";
import { openTestStore } from "../../support/test-store.ts";

test("get is empty until something is stored", async (t) => {
  const config = new ConfigService(await openTestStore(t));
  assert.deepEqual(await config.get(), {});
});

test("update merges into one record; replace overwrites it", async (t) => {
  const store = await openTestStore(t);
  const config = new ConfigService(store);
  assert.deepEqual(await config.update({ a: "1", b: "2" }), { a: "1", b: "2" });
  assert.deepEqual(await config.update({ b: "3" }), { a: "1", b: "3" });
  assert.deepEqual((await store.get(CONFIG_KEY))?.value, { a: "1", b: "3" });
  assert.deepEqual(await config.replace({ c: "4" }), { c: "4" });
  assert.deepEqual(await config.get(), { c: "4" });
});

test("concurrent updates are all kept (compare-and-swap, no lost update)", async (t) => {
  const store = await openTestStore(t);
  const config = new ConfigService(store);
  const keys = Array.from({ length: 20 }, (_, i) => `key.${i}`);
  await Promise.all(keys.map((key) => config.update({ [key]: key })));
  assert.deepEqual(Object.keys(await config.get()).sort(), [...keys].sort());
});

test("the returned object is the caller's to change", async (t) => {
  const config = new ConfigService(await openTestStore(t));
  await config.update({ a: "1" });
  const copy = await config.get();
  copy.a = "changed";
  assert.deepEqual(await config.get(), { a: "1" });
});

test("updates from two masters sharing the store are all kept", async (t) => {
  const store = await openTestStore(t);
  const masters = [new ConfigService(store), new ConfigService(store)];
  const keys = Array.from({ length: 16 }, (_, i) => `key.${i}`);
  await Promise.all(keys.map((key, i) => masters[i % 2]!.update({ [key]: key })));
  assert.deepEqual(Object.keys(await masters[0]!.get()).sort(), [...keys].sort());
});
