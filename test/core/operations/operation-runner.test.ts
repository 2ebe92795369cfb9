import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { test } from "node:test";
import { OperationKindRegistry, type OperationStep } from "../../../src/core/operations/operation-kind-registry.ts";
import type { OperationRecord, OperationState } from "../../../src/core/operations/operation-record.ts";
import { INTERRUPTED_RESULT, OperationRunner } from "../../../src/core/operations/operation-runner.ts";
import { OperationService } from "../../../src/core/operations/operation-service.ts";
import type { StateStore } from "../../../src/store/state-store.ts";
import { makeTempDir } from "../../support/temp-dir.ts";
import { openTestStore } from "../../support/test-store.ts";

/** A test-only kind: each step waits for the test to open its gate (or fail it) and records what ran. */
class GatedSteps {
  readonly journal: string[] = [];
  readonly #gates = new Map<string, { open: () => void; fail: (error: Error) => void; promise: Promise<void> }>();
  readonly #arrivals = new Map<string, () => void>();
  readonly #arrived = new Map<string, Promise<void>>();

  #gate(key: string) {
    let gate = this.#gates.get(key);
    if (!gate) {
      let open = () => {};
      let fail = (_error: Error) => {};
      const promise = new Promise<void>((resolve, reject) => {
        open = resolve;
        fail = reject;
      });
      // The test may fail a gate before the step waits on it.
      promise.catch(() => {});
      gate = { open, fail, promise };
      this.#gates.set(key, gate);
    }
    return gate;
  }

  /** Resolves when the step of that operation has started running. */
  arrived(key: string): Promise<void> {
    let promise = this.#arrived.get(key);
    if (!promise) {
      promise = new Promise((resolve) => this.#arrivals.set(key, resolve));
      this.#arrived.set(key, promise);
    }
    return promise;
  }

  open(key: string): void {
    this.#gate(key).open();
  }

  fail(key: string, message: string): void {
    this.#gate(key).fail(new Error(message));
  }

  step(operation: OperationRecord, name: string): OperationStep {
    const key = `${operation.id}:${name}`;
    return {
      name,
      run: async (context, signal) => {
        this.journal.push(`run ${key}`);
        void this.arrived(key);
        this.#arrivals.get(key)?.();
        await context.debug(`running ${name}`);
        const gate = this.#gate(key);
        signal.throwIfAborted();
        await new Promise<void>((resolve, reject) => {
          signal.addEventListener("abort", () => reject(signal.reason), { once: true });
          gate.promise.then(resolve, reject);
        });
        this.journal.push(`end ${key}`);
      },
      compensate: async () => {
        this.journal.push(`undo ${key}`);
      },
    };
  }
}

async function setUp(t: TestContext, store?: StateStore, gated = new GatedSteps(), leaseTtlSeconds = 10) {
  const actual = store ?? (await openTestStore(t));
  const kinds = new OperationKindRegistry();
  kinds.register("test", {
    stage: "Testing",
    steps: (params, operation) => (params as string[]).map((name) => gated.step(operation, name)),
  });
  const operations = new OperationService(actual);
  const runner = new OperationRunner(actual, operations, kinds, { leaseTtlSeconds });
  await runner.start();
  t.after(() => runner.stop());
  const submit = (target: string, steps: string[]) =>
    operations.submit({
      kind: "test",
      description: `test ${target}`,
      user: "admin",
      grid: "default",
      target,
      params: steps,
    });
  return { store: actual, operations, runner, gated, submit };
}

async function until(operations: OperationService, id: number, state: OperationState): Promise<OperationRecord> {
  for (let i = 0; i < 2000; i++) {
    const record = await operations.get(id);
    if (record.state === state) return record;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`operation ${id} never became ${state} (is ${(await operations.get(id)).state})`);
}

async function events(operations: OperationService, id: number) {
  return (await operations.output(id, "event"))
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

test("an operation runs its steps in order and ends done, logging started and finished per step", async (t) => {
  const { operations, gated, submit } = await setUp(t);
  const op = await submit("web", ["pull", "start"]);
  assert.equal(op.state, "queued");
  await gated.arrived(`${op.id}:pull`);
  assert.equal((await operations.get(op.id)).state, "processing");
  gated.open(`${op.id}:pull`);
  await gated.arrived(`${op.id}:start`);
  gated.open(`${op.id}:start`);
  const done = await until(operations, op.id, "done");
  assert.equal(done.result, "done");
  assert.equal(done.error, null);
  assert.deepEqual(
    (await events(operations, op.id)).map((e) => [e.stage, e.task, e.index, e.total, e.state, e.progress]),
    [
      ["Testing", "pull", 1, 2, "started", 0],
      ["Testing", "pull", 1, 2, "finished", 100],
      ["Testing", "start", 2, 2, "started", 0],
      ["Testing", "start", 2, 2, "finished", 100],
    ],
  );
  assert.equal(await operations.output(op.id, "debug"), "running pull\nrunning start\n");
});

test("a failing step errors the operation and compensates the started steps in reverse", async (t) => {
  const { operations, gated, submit } = await setUp(t);
  const op = await submit("web", ["a", "b", "c"]);
  gated.open(`${op.id}:a`);
  await gated.arrived(`${op.id}:b`);
  gated.fail(`${op.id}:b`, "image not found");
  const errored = await until(operations, op.id, "errored");
  assert.equal(errored.error, "image not found");
  assert.equal(errored.result, "b: image not found; undone: b, a");
  assert.deepEqual(gated.journal, [
    `run ${op.id}:a`,
    `end ${op.id}:a`,
    `run ${op.id}:b`,
    `undo ${op.id}:b`,
    `undo ${op.id}:a`,
  ]);
  const log = await events(operations, op.id);
  assert.deepEqual(log[3], { ...log[3], task: "b", state: "failed", data: { error: "image not found" } });
  assert.deepEqual(
    log.slice(4).map((e) => [e.stage, e.task, e.state]),
    [
      ["Undoing Testing", "b", "started"],
      ["Undoing Testing", "b", "finished"],
      ["Undoing Testing", "a", "started"],
      ["Undoing Testing", "a", "finished"],
    ],
  );
});

test("cancelling mid-step aborts the step, compensates and ends cancelled", async (t) => {
  const { operations, gated, submit } = await setUp(t);
  const op = await submit("web", ["a", "b", "c"]);
  gated.open(`${op.id}:a`);
  await gated.arrived(`${op.id}:b`);
  assert.equal((await operations.cancel(op.id)).state, "cancelling");
  const cancelled = await until(operations, op.id, "cancelled");
  assert.equal(cancelled.result, "cancelled during b; undone: b, a");
  assert.ok(!gated.journal.includes(`run ${op.id}:c`));
  assert.deepEqual(gated.journal.slice(-2), [`undo ${op.id}:b`, `undo ${op.id}:a`]);
  const log = await events(operations, op.id);
  assert.deepEqual(log[3], { ...log[3], task: "b", state: "failed", data: { error: "cancelled" } });
  await assert.rejects(operations.cancel(op.id), { name: "OperationFinishedError" });
});

test("operations of one target run one at a time; other targets run alongside", async (t) => {
  const { operations, gated, submit } = await setUp(t);
  const first = await submit("web", ["deploy"]);
  const second = await submit("web", ["deploy"]);
  const other = await submit("db", ["deploy"]);
  await gated.arrived(`${first.id}:deploy`);
  await gated.arrived(`${other.id}:deploy`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal((await operations.get(second.id)).state, "queued");
  assert.ok(!gated.journal.includes(`run ${second.id}:deploy`));
  gated.open(`${first.id}:deploy`);
  await gated.arrived(`${second.id}:deploy`);
  assert.equal((await operations.get(first.id)).state, "done");
  const order = gated.journal.filter(
    (line) => line.endsWith(`${first.id}:deploy`) || line.endsWith(`${second.id}:deploy`),
  );
  assert.deepEqual(order, [`run ${first.id}:deploy`, `end ${first.id}:deploy`, `run ${second.id}:deploy`]);
  gated.open(`${second.id}:deploy`);
  gated.open(`${other.id}:deploy`);
  await until(operations, second.id, "done");
  await until(operations, other.id, "done");
});

test("a queued operation cancels at once and the next in its queue runs", async (t) => {
  const { operations, gated, submit } = await setUp(t);
  const first = await submit("web", ["deploy"]);
  const second = await submit("web", ["deploy"]);
  const third = await submit("web", ["deploy"]);
  await gated.arrived(`${first.id}:deploy`);
  assert.equal((await operations.cancel(second.id)).state, "cancelled");
  gated.open(`${first.id}:deploy`);
  await gated.arrived(`${third.id}:deploy`);
  assert.ok(!gated.journal.includes(`run ${second.id}:deploy`));
  gated.open(`${third.id}:deploy`);
  await until(operations, third.id, "done");
});

test("after a crash and restart, a processing operation is errored and compensated once its lease lapses, and queued ones resume", async (t) => {
  const dir = await makeTempDir(t);
  const gated = new GatedSteps();
  const before = await setUp(t, await openTestStore(t, dir), gated, 1);
  const running = await before.submit("web", ["a", "b"]);
  const waiting = await before.submit("web", ["a"]);
  gated.open(`${running.id}:a`);
  await gated.arrived(`${running.id}:b`);
  // The master dies mid-step: nothing records an outcome, and its lease lapses only with time.
  await before.store.close();
  assert.equal(await storedState(t, dir, running.id), "processing");

  const after = await setUp(t, await openTestStore(t, dir), gated);
  const failed = await until(after.operations, running.id, "errored");
  assert.equal(failed.error, INTERRUPTED_RESULT);
  assert.equal(failed.result, `${INTERRUPTED_RESULT}; undone: b, a`);
  assert.ok(
    (await events(after.operations, running.id)).some((e) => e.task === INTERRUPTED_RESULT && e.state === "failed"),
  );
  await gated.arrived(`${waiting.id}:a`);
  gated.open(`${waiting.id}:a`);
  await until(after.operations, waiting.id, "done");
});

test("a master leaves another live master's operation alone and recovers it when that master's lease ends", async (t) => {
  const store = await openTestStore(t);
  const gated = new GatedSteps();
  const first = await setUp(t, store, gated);
  const op = await first.submit("web", ["a", "b"]);
  gated.open(`${op.id}:a`);
  await gated.arrived(`${op.id}:b`);
  const second = await setUp(t, store, gated);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal((await second.operations.get(op.id)).state, "processing");
  assert.deepEqual(
    gated.journal.filter((line) => line.startsWith("undo")),
    [],
  );
  // The first master goes away; its lease ends with it.
  await first.runner.stop();
  const failed = await until(second.operations, op.id, "errored");
  assert.equal(failed.result, `${INTERRUPTED_RESULT}; undone: b, a`);
  assert.deepEqual(
    gated.journal.filter((line) => line.startsWith("undo")),
    [`undo ${op.id}:b`, `undo ${op.id}:a`],
  );
});

/** The record as the store holds it between two masters' lives, read without a runner. */
async function storedState(t: TestContext, dir: string, id: number): Promise<OperationState> {
  const store = await openTestStore(t, dir);
  const state = (await new OperationService(store).get(id)).state;
  await store.close();
  return state;
}

test("stopping gives up on a step that ignores its signal after the grace period", async (t) => {
  const store = await openTestStore(t);
  const kinds = new OperationKindRegistry();
  let started = () => {};
  const running = new Promise<void>((resolve) => {
    started = resolve;
  });
  kinds.register("stubborn", {
    stage: "Testing",
    steps: () => [
      {
        name: "forever",
        run: () => {
          started();
          return new Promise<void>(() => {});
        },
      },
    ],
  });
  const operations = new OperationService(store);
  const runner = new OperationRunner(store, operations, kinds, { stopGraceMs: 50 });
  await runner.start();
  await operations.submit({ kind: "stubborn", description: "never ends", user: "admin", grid: "default", target: "x" });
  await running;
  const before = Date.now();
  await runner.stop();
  const waited = Date.now() - before;
  assert.ok(waited >= 40 && waited < 2000, `stop took ${waited} ms`);
});
