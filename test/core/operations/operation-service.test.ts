import assert from "node:assert/strict";
import { test } from "node:test";
import { OperationKindRegistry } from "../../../src/core/operations/operation-kind-registry.ts";
import { OperationRunner } from "../../../src/core/operations/operation-runner.ts";
import { OperationService } from "../../../src/core/operations/operation-service.ts";
import { openTestStore } from "../../support/test-store.ts";

test("awaitFinished answers once the operation finishes, or as it stands when the wait runs out", async (t) => {
  const store = await openTestStore(t);
  const operations = new OperationService(store);
  const kinds = new OperationKindRegistry();
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  kinds.register("test.hold", { stage: "Holding", steps: () => [{ name: "hold", run: () => held }] });
  const runner = new OperationRunner(store, operations, kinds);
  await runner.start();
  t.after(async () => {
    release();
    await runner.stop();
  });
  const submitted = await operations.submit({
    kind: "test.hold",
    description: "hold",
    user: "u",
    grid: "default",
    target: "t",
  });
  const pending = await operations.awaitFinished(submitted.id, 200);
  assert.ok(["queued", "processing"].includes(pending.state), pending.state);
  release();
  assert.equal((await operations.awaitFinished(submitted.id, 5000)).state, "done");
});

test("awaitFinished of an unknown operation is not found", async (t) => {
  const operations = new OperationService(await openTestStore(t));
  await assert.rejects(operations.awaitFinished(999, 100), /Task 999 not found/);
});
