import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { KeyedQueue } from "../../../src/core/records/keyed-queue.ts";

test("tasks of one key run one at a time in order; other keys run alongside", async () => {
  const queue = new KeyedQueue();
  const events: string[] = [];
  const task = (name: string, ms: number) => async () => {
    events.push(`${name} start`);
    await sleep(ms);
    events.push(`${name} end`);
    return name;
  };
  const results = await Promise.all([
    queue.run("a", task("a1", 30)),
    queue.run("a", task("a2", 1)),
    queue.run("b", task("b1", 10)),
  ]);
  assert.deepEqual(results, ["a1", "a2", "b1"]);
  assert.deepEqual(events, ["a1 start", "b1 start", "b1 end", "a1 end", "a2 start", "a2 end"]);
  await sleep(0);
  assert.equal(queue.size, 0);
});

test("a failing task rejects its caller only; the next one still runs", async () => {
  const queue = new KeyedQueue();
  const failed = queue.run("k", async () => {
    throw new Error("boom");
  });
  const next = queue.run("k", async () => "ok");
  await assert.rejects(failed, /boom/);
  assert.equal(await next, "ok");
});
