import assert from "node:assert/strict";
import { test } from "node:test";
import { LockDelayTable } from "../../../src/core/consul/lock-delay-table.ts";

test("a lock delay runs for its time, capped at 60 s, per datacenter and key", () => {
  let now = 1_000;
  const table = new LockDelayTable(() => now);
  table.arm("dc1", "k", 15_000);
  table.arm("dc1", "long", 3_600_000);
  table.arm("dc1", "none", 0);
  assert.equal(table.isDelayed("dc1", "k"), true);
  assert.equal(table.isDelayed("dc2", "k"), false);
  assert.equal(table.isDelayed("dc1", "none"), false);
  now += 15_000;
  assert.equal(table.isDelayed("dc1", "k"), false);
  assert.equal(table.isDelayed("dc1", "long"), true);
  now += 45_001;
  assert.equal(table.isDelayed("dc1", "long"), false);
});

test("a shorter delay does not cut a longer one short", () => {
  let now = 0;
  const table = new LockDelayTable(() => now);
  table.arm("dc", "k", 10_000);
  table.arm("dc", "k", 1_000);
  now = 5_000;
  assert.equal(table.isDelayed("dc", "k"), true);
});

test("expired delays of keys never asked about again are swept out", () => {
  let now = 0;
  const table = new LockDelayTable(() => now);
  for (let i = 0; i < 5_000; i++) {
    table.arm("dc", `k${i}`, 1);
    now += 2;
  }
  table.arm("dc", "live", 60_000);
  assert.equal(table.isDelayed("dc", "live"), true);
  assert.ok(table.size < 2_100, `kept ${table.size}`);
});
