import assert from "node:assert/strict";
import { test } from "node:test";
import { reconnectDelay } from "../../src/agent/reconnect-backoff.ts";

const policy = { initialMs: 500, maxMs: 30_000 };

test("delays double per attempt up to the cap, with a random upper half", () => {
  const low = (attempt: number) => reconnectDelay(policy, attempt, () => 0);
  const high = (attempt: number) => reconnectDelay(policy, attempt, () => 1);
  assert.deepEqual([0, 1, 2, 3].map(low), [250, 500, 1000, 2000]);
  assert.deepEqual([0, 1, 2, 3].map(high), [500, 1000, 2000, 4000]);
  assert.equal(low(10), 15_000);
  assert.equal(high(10), 30_000);
  assert.equal(high(1_000), 30_000, "no overflow after many attempts");
});

test("jitter spreads agents that retry at the same attempt", () => {
  const delays = new Set(Array.from({ length: 50 }, () => Math.round(reconnectDelay(policy, 4))));
  assert.ok(delays.size > 10, `only ${delays.size} distinct delays`);
  for (const delay of delays) assert.ok(delay >= 4_000 && delay <= 8_000, String(delay));
});
