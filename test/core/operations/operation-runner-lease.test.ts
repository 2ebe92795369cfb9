import assert from "node:assert/strict";
import { test } from "node:test";
import { OperationKindRegistry } from "../../../src/core/operations/operation-kind-registry.ts";
import {
  type OperationRecord,
  type OperationState,
  runningKey,
} from "../../../src/core/operations/operation-record.ts";
import { INTERRUPTED_RESULT, OperationRunner } from "../../../src/core/operations/operation-runner.ts";
import { OperationService } from "../../../src/core/operations/operation-service.ts";
import { openTestStore } from "../../support/test-store.ts";

async function until(operations: OperationService, id: number, state: OperationState): Promise<OperationRecord> {
  for (let i = 0; i < 2000; i++) {
    const record = await operations.get(id);
    if (record.state === state) return record;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`operation ${id} never became ${state} (is ${(await operations.get(id)).state})`);
}

test("a lease lost under a running step aborts the step, and the step's late end never overwrites the recovered record", async (t) => {
  const store = await openTestStore(t);
  const kinds = new OperationKindRegistry();
  const started = Promise.withResolvers<void>();
  const aborted = Promise.withResolvers<unknown>();
  const release = Promise.withResolvers<void>();
  const finished = Promise.withResolvers<void>();
  kinds.register("stubborn", {
    stage: "Testing",
    steps: () => [
      {
        name: "slow",
        // Notices the abort but goes on until released (a step stuck in a call that ignores signals).
        run: async (context, signal) => {
          signal.addEventListener("abort", () => aborted.resolve(signal.reason), { once: true });
          started.resolve();
          await release.promise;
          await context.setResultOutput("written by the lost step");
          await context.debug("a lost step's debug line");
          finished.resolve();
        },
        compensate: async () => {},
      },
    ],
  });
  kinds.register("quick", { stage: "Testing", steps: () => [{ name: "quick", run: async () => {} }] });
  const operations = new OperationService(store);
  const runner = new OperationRunner(store, operations, kinds, { stopGraceMs: 100 });
  await runner.start();
  t.after(() => runner.stop());

  const op = await operations.submit({
    kind: "stubborn",
    description: "slow",
    user: "admin",
    grid: "default",
    target: "x",
  });
  await started.promise;
  const running = await store.get(runningKey(op.id));
  assert.ok(running && running.lease !== 0, "the running key is on the runner's lease");
  // The lease ends under the live runner, as it would after a stall past its TTL.
  await store.revokeLease(running.lease);

  const reason = await aborted.promise;
  assert.match(String(reason), /lost its lease/);
  // The operation is recovered (here by the same master under a new lease) as interrupted.
  const recovered = await until(operations, op.id, "errored");
  assert.equal(recovered.error, INTERRUPTED_RESULT);
  const eventsBefore = recovered.eventCount;

  // The step ends late and tries to write: nothing of it reaches the finished record.
  release.resolve();
  await finished.promise;
  await new Promise((resolve) => setTimeout(resolve, 50));
  const after = await operations.get(op.id);
  assert.equal(after.state, "errored");
  assert.equal(after.result, recovered.result);
  assert.equal(await operations.output(op.id, "result"), "");
  assert.equal(after.eventCount, eventsBefore);
  assert.equal(after.debugCount, recovered.debugCount);
  assert.equal(await operations.output(op.id, "debug"), "");
  const events = (await operations.output(op.id, "event"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { task: string; state: string; stage: string });
  assert.ok(!events.some((event) => event.task === "slow" && event.state === "finished" && event.stage === "Testing"));

  // The runner took a new lease and goes on running operations.
  const next = await operations.submit({
    kind: "quick",
    description: "quick",
    user: "admin",
    grid: "default",
    target: "x",
  });
  await until(operations, next.id, "done");
  const newLease = (await store.get(runningKey(next.id)))?.lease;
  assert.equal(newLease, undefined, "a finished operation leaves no running key");
});

test("an operation recovered by another master is not finished again by the master that lost it", async (t) => {
  const store = await openTestStore(t);
  const release = Promise.withResolvers<void>();
  const started = Promise.withResolvers<void>();
  const kinds = new OperationKindRegistry();
  kinds.register("stubborn", {
    stage: "Testing",
    steps: () => [
      {
        name: "slow",
        run: async () => {
          started.resolve();
          await release.promise;
        },
      },
    ],
  });
  const operations = new OperationService(store);
  const first = new OperationRunner(store, operations, kinds, { stopGraceMs: 50 });
  await first.start();
  t.after(() => first.stop());
  const op = await operations.submit({
    kind: "stubborn",
    description: "slow",
    user: "admin",
    grid: "default",
    target: "y",
  });
  await started.promise;
  const second = new OperationRunner(store, operations, kinds, { stopGraceMs: 50 });
  await second.start();
  t.after(() => second.stop());

  const running = await store.get(runningKey(op.id));
  assert.ok(running);
  await store.revokeLease(running.lease);
  const recovered = await until(operations, op.id, "errored");
  release.resolve();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const after = await operations.get(op.id);
  assert.equal(after.state, "errored");
  assert.equal(after.result, recovered.result);
  assert.equal(after.finishedAt, recovered.finishedAt);
});
