import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { test } from "node:test";
import { OperationKindRegistry } from "../../../src/core/operations/operation-kind-registry.ts";
import {
  OPERATION_LOGS_PREFIX,
  OPERATION_RECORDS_PREFIX,
  type OperationRecord,
  type OperationState,
} from "../../../src/core/operations/operation-record.ts";
import { OperationRunner } from "../../../src/core/operations/operation-runner.ts";
import { OperationService } from "../../../src/core/operations/operation-service.ts";
import type { StateStore } from "../../../src/store/state-store.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send } from "../../support/http-client.ts";
import { startTestMaster, TEST_ADMIN_PASSWORD } from "../../support/test-master.ts";
import { openTestStore } from "../../support/test-store.ts";

const directorError = errorShapeOf("director");

async function submit(operations: OperationService, target = "web"): Promise<OperationRecord> {
  return operations.submit({ kind: "retention-test", description: "test", user: "admin", grid: "default", target });
}

/** Finishes a queued operation as the runner would, with an event and a debug line. */
async function finish(operations: OperationService, id: number, state: OperationState): Promise<void> {
  await operations.appendEvent(id, {
    time: 1,
    stage: "Testing",
    tags: [],
    total: 1,
    task: "step",
    index: 1,
    state: "finished",
    progress: 100,
  });
  await operations.appendDebug(id, `debug of ${id}`);
  await operations.change(id, (current) => ({ ...current, state, finishedAt: Date.now(), result: state }));
}

async function recordIds(store: StateStore): Promise<number[]> {
  const { kvs } = await store.range(OPERATION_RECORDS_PREFIX, { prefix: true });
  return kvs.map((kv) => (kv.value as OperationRecord).id);
}

/** The ids that still have log lines. */
async function loggedIds(store: StateStore): Promise<number[]> {
  const { kvs } = await store.range(OPERATION_LOGS_PREFIX, { prefix: true });
  return [...new Set(kvs.map((kv) => Number(kv.key.slice(OPERATION_LOGS_PREFIX.length).split("/")[0])))];
}

async function eventually(t: TestContext, check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  t.diagnostic(what);
  assert.fail(`never happened: ${what}`);
}

test("prune keeps the newest finished operations and deletes the rest with their logs; unfinished ones stay", async (t) => {
  const store = await openTestStore(t);
  const operations = new OperationService(store);
  // Oldest first: an old queued one, an old processing one, then finished ones of every kind, one cancelling.
  const oldQueued = await submit(operations, "queued");
  const oldProcessing = await submit(operations, "processing");
  await operations.change(oldProcessing.id, (current) => ({ ...current, state: "processing" }));
  await operations.appendDebug(oldProcessing.id, "still running");
  const finished: number[] = [];
  const states: OperationState[] = ["done", "errored", "cancelled", "done", "done", "errored"];
  for (const [index, state] of states.entries()) {
    const op = await submit(operations, `t${index}`);
    await finish(operations, op.id, state);
    finished.push(op.id);
  }
  const cancelling = await submit(operations, "cancelling");
  await operations.change(cancelling.id, (current) => ({ ...current, state: "cancelling" }));

  assert.equal(await operations.prune(3), 3);
  const kept = finished.slice(-3);
  assert.deepEqual(await recordIds(store), [oldQueued.id, oldProcessing.id, ...kept, cancelling.id]);
  // The pruned ones' event and debug logs are gone with them; the others' logs stay.
  assert.deepEqual(await loggedIds(store), [oldProcessing.id, ...kept]);
  for (const id of finished.slice(0, 3)) {
    assert.equal(await operations.find(id), undefined);
    await assert.rejects(operations.output(id, "event"), /not found/);
  }
  assert.match(await operations.output(kept[0] as number, "debug"), /debug of/);

  // Nothing more to prune: already at the limit, and unfinished ones never count or go.
  assert.equal(await operations.prune(3), 0);
  assert.equal(await operations.prune(0), 3);
  assert.deepEqual(await recordIds(store), [oldQueued.id, oldProcessing.id, cancelling.id]);
  assert.deepEqual(await loggedIds(store), [oldProcessing.id]);

  // Ids keep increasing after a prune (the counter never goes back).
  const next = await submit(operations);
  assert.equal(next.id, cancelling.id + 1);
});

test("a record that changed after the prune read it is left whole for a later prune", async (t) => {
  const store = await openTestStore(t);
  const operations = new OperationService(store);
  const ids: number[] = [];
  for (let i = 0; i < 3; i++) {
    const op = await submit(operations, `t${i}`);
    await finish(operations, op.id, "done");
    ids.push(op.id);
  }
  // A write to the first record lands between the prune's read and its delete of that record.
  const txn = store.txn.bind(store);
  let raced = false;
  store.txn = async (request) => {
    if (!raced && request.success.some((op) => op.type === "delete")) {
      raced = true;
      await operations.appendDebug(ids[0] as number, "late line");
    }
    return txn(request);
  };
  assert.equal(await operations.prune(1), 1);
  store.txn = txn;
  assert.deepEqual(await recordIds(store), [ids[0], ids[2]]);
  assert.deepEqual(await loggedIds(store), [ids[0], ids[2]]);
  assert.match(await operations.output(ids[0] as number, "debug"), /late line/);
  assert.equal(await operations.prune(1), 1);
  assert.deepEqual(await recordIds(store), [ids[2]]);
});

test("the runner prunes by itself as operations finish, and once at start", async (t) => {
  const store = await openTestStore(t);
  const operations = new OperationService(store);
  // Left by an earlier run: pruned when the runner starts.
  for (let i = 0; i < 5; i++) await finish(operations, (await submit(operations, `old${i}`)).id, "done");
  const kinds = new OperationKindRegistry();
  const release = Promise.withResolvers<void>();
  kinds.register("retention-test", {
    stage: "Testing",
    steps: (params) => [
      {
        name: "work",
        run: async (context) => {
          await context.debug("working");
          if ((params as { hold?: boolean } | null)?.hold) await release.promise;
        },
      },
    ],
  });
  const runner = new OperationRunner(store, operations, kinds, { operationsKept: 3 });
  await runner.start();
  t.after(async () => {
    release.resolve();
    await runner.stop();
  });
  await eventually(t, async () => (await recordIds(store)).length === 3, "the start prune left 3 operations");

  // One held operation stays processing throughout, older than everything that finishes after it.
  const held = await operations.submit({
    kind: "retention-test",
    description: "held",
    user: "admin",
    grid: "default",
    target: "held",
    params: { hold: true },
  });
  const submitted: number[] = [];
  for (let i = 0; i < 8; i++) submitted.push((await submit(operations, `w${i % 2}`)).id);
  const last = submitted.at(-1) as number;
  await eventually(
    t,
    async () => (await operations.find(last))?.state === "done" && (await recordIds(store)).length === 4,
    "the runner pruned down to 3 finished and the held one",
  );
  assert.deepEqual(await recordIds(store), [held.id, ...submitted.slice(-3)]);
  assert.deepEqual(await loggedIds(store), [held.id, ...submitted.slice(-3)]);
  assert.equal((await operations.get(held.id)).state, "processing");

  release.resolve();
  // Once finished it is the oldest finished operation, so it is the one to go.
  await eventually(
    t,
    async () => (await recordIds(store)).join() === submitted.slice(-3).join(),
    "the held one finished and was pruned",
  );
  // Stopped before the store closes, so that nothing picks up the next submission mid-close.
  await runner.stop();
  assert.ok((await submit(operations, "after")).id > last, "ids keep increasing");
});

test("a pruned task answers the Director's task-not-found shape", async (t) => {
  const master = await startTestMaster(t, undefined, { operationsKept: 3 });
  master.core.operationKinds.register("retention-test", {
    stage: "Testing",
    steps: () => [{ name: "work", run: async (context) => context.debug("working") }],
  });
  const auth = { authorization: `Basic ${Buffer.from(`admin:${TEST_ADMIN_PASSWORD}`).toString("base64")}` };
  const ids: number[] = [];
  for (let i = 0; i < 6; i++) ids.push((await submit(master.core.operations, `t${i}`)).id);
  const first = ids[0] as number;
  await eventually(
    t,
    async () => (await send(master.url, `/tasks/${first}`, { headers: auth })).status === 404,
    "the oldest task was pruned",
  );
  const missing = await send(master.url, `/tasks/${first}`, { headers: auth });
  directorError(missing, 404);
  assert.deepEqual(missing.json(), { code: 10001, description: `Task ${first} not found` });
  directorError(await send(master.url, `/tasks/${first}/output?type=debug`, { headers: auth }), 404);
  // Once everything finished, only the newest 3 are listed.
  const listed = async () =>
    ((await send(master.url, "/tasks", { headers: auth })).json() as { id: number }[]).map((task) => task.id);
  await eventually(t, async () => (await listed()).join() === ids.slice(-3).reverse().join(), "only 3 tasks listed");
});
