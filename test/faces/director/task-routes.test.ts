import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { test } from "node:test";
import type { SubmitOperation } from "../../../src/core/operations/operation-service.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send } from "../../support/http-client.ts";
import { startTestMaster, TEST_ADMIN_PASSWORD } from "../../support/test-master.ts";

const directorError = errorShapeOf("director");
const auth = { authorization: `Basic ${Buffer.from(`admin:${TEST_ADMIN_PASSWORD}`).toString("base64")}` };

type Task = { id: number; state: string; description: string; timestamp: number; result: string | null; user: string };

/** A master with a test-only kind: "prepare" writes logs and a result; "hold" waits for the test (or a cancel). */
async function directorMaster(t: TestContext) {
  const master = await startTestMaster(t);
  const gates = new Map<number, () => void>();
  master.core.operationKinds.register("director-test", {
    stage: "Testing",
    steps: (params, operation) => {
      const { hold, fail } = (params ?? {}) as { hold?: boolean; fail?: string };
      return [
        {
          name: "prepare",
          run: async (context) => {
            await context.debug("preparing é");
            await context.setResultOutput('{"ok":true}');
            if (fail) throw new Error(fail);
          },
          compensate: async (context) => context.debug("unpreparing"),
        },
        {
          name: "hold",
          run: (_context, signal) =>
            new Promise<void>((resolve, reject) => {
              if (!hold) return resolve();
              gates.set(operation.id, resolve);
              signal.addEventListener("abort", () => reject(signal.reason), { once: true });
            }),
        },
      ];
    },
  });
  const submit = (input: Partial<SubmitOperation> & { params?: { hold?: boolean; fail?: string } }) =>
    master.core.operations.submit({
      kind: "director-test",
      description: "test task",
      user: "admin",
      grid: "default",
      target: "web",
      ...input,
    });
  const get = (path: string, headers: Record<string, string> = {}) =>
    send(master.url, path, { headers: { ...auth, ...headers } });
  const until = async (id: number, state: string): Promise<Task> => {
    for (let i = 0; i < 400; i++) {
      const task = (await get(`/tasks/${id}`)).json() as Task;
      if (task.state === state) return task;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`task ${id} never became ${state}`);
  };
  return { master, gates, submit, get, until };
}

test("GET /tasks lists newest first with state, deployment, verbose and limit filters", async (t) => {
  const { master, submit, get, until } = await directorMaster(t);
  const first = await submit({ description: "deploy web", deployment: "shop" });
  const second = await submit({ description: "sweep", internal: true, target: "system" });
  const third = await submit({ description: "fails", target: "db", params: { fail: "no image" } });
  await until(first.id, "done");
  await until(second.id, "done");
  await until(third.id, "errored");

  const all = (await get("/tasks")).json() as Task[];
  assert.deepEqual(
    all.map((task) => task.id),
    [third.id, second.id, first.id],
  );
  const deployed = all[2] as Task & { deployment?: string };
  assert.deepEqual(Object.keys(deployed).sort(), [
    "context_id",
    "deployment",
    "description",
    "id",
    "result",
    "started_at",
    "state",
    "timestamp",
    "user",
  ]);
  assert.equal(deployed.deployment, "shop");
  assert.equal(deployed.user, "admin");
  assert.equal(deployed.result, "done");
  assert.ok(Math.abs(deployed.timestamp - Date.now() / 1000) < 60);

  const ids = async (query: string) => ((await get(`/tasks${query}`)).json() as Task[]).map((task) => task.id);
  assert.deepEqual(await ids("?verbose=0"), [third.id, first.id]);
  assert.deepEqual(await ids("?verbose=2"), [third.id, second.id, first.id]);
  assert.deepEqual(await ids("?state=errored"), [third.id]);
  assert.deepEqual(await ids("?state=queued,processing,cancelling"), []);
  assert.deepEqual(await ids("?deployment=shop"), [first.id]);
  assert.deepEqual(await ids("?limit=1"), [third.id]);

  assert.match(directorError(await get("/tasks?state=sleeping"), 400), /state/);
  assert.match(directorError(await get("/tasks?limit=0"), 400), /limit/);
  assert.match(directorError(await get("/tasks?verbose=7"), 400), /verbose/);
  assert.equal((await send(master.url, "/tasks")).status, 401);
});

test("GET /tasks/:id shows one task; unknown ids answer BOSH's task-not-found code", async (t) => {
  const { submit, get, until } = await directorMaster(t);
  const op = await submit({ params: { fail: "boom" } });
  const task = await until(op.id, "errored");
  assert.equal(task.id, op.id);
  assert.equal(task.result, "prepare: boom; undone: prepare");
  const missing = await get("/tasks/9999");
  directorError(missing, 404);
  assert.deepEqual(missing.json(), { code: 10001, description: "Task 9999 not found" });
  directorError(await get("/tasks/abc"), 400);
});

test("task output: events as JSON lines, result and debug as text, 204 when empty, ranges for polling", async (t) => {
  const { submit, get, until } = await directorMaster(t);
  const op = await submit({ params: { fail: "no image" } });
  await until(op.id, "errored");

  const events = await get(`/tasks/${op.id}/output?type=event`);
  assert.equal(events.status, 200);
  const lines = events.text
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line));
  assert.deepEqual(Object.keys(lines[0]), ["time", "stage", "tags", "total", "task", "index", "state", "progress"]);
  assert.deepEqual(lines[1], { ...lines[1], task: "prepare", state: "failed", data: { error: "no image" } });

  const result = await get(`/tasks/${op.id}/output?type=result`);
  assert.equal(result.status, 200);
  assert.equal(result.text, '{"ok":true}');
  const debug = await get(`/tasks/${op.id}/output?type=debug`);
  assert.equal(debug.text, "preparing é\nunpreparing\n");

  const total = Buffer.byteLength(debug.text);
  const tail = await get(`/tasks/${op.id}/output?type=debug`, { range: "bytes=10-" });
  assert.equal(tail.status, 206);
  assert.equal(tail.headers.get("content-range"), `bytes 10-${total - 1}/${total}`);
  assert.equal(tail.text, Buffer.from(debug.text).subarray(10).toString());
  const past = await get(`/tasks/${op.id}/output?type=debug`, { range: `bytes=${total}-` });
  assert.equal(past.status, 416);
  assert.equal(past.headers.get("content-range"), `bytes */${total}`);
  directorError(await get(`/tasks/${op.id}/output?type=debug`, { range: "lines=1-" }), 400);

  const blocker = await submit({ target: "api", params: { hold: true } });
  const queued = await submit({ target: "api" });
  await until(blocker.id, "processing");
  assert.equal((await get(`/tasks/${queued.id}/output?type=debug`)).status, 204);
  assert.equal((await get(`/tasks/${queued.id}/output?type=result`)).status, 204);

  directorError(await get(`/tasks/${op.id}/output?type=verbose`), 400);
  directorError(await get(`/tasks/${op.id}/output`), 400);
  assert.equal(((await get("/tasks/9999/output?type=event")).json() as { code: number }).code, 10001);
});

test("DELETE /task/:id cancels a running task (204) and refuses a finished one (400)", async (t) => {
  const { master, submit, get, until } = await directorMaster(t);
  const op = await submit({ params: { hold: true } });
  await until(op.id, "processing");
  const cancel = () => send(master.url, `/task/${op.id}`, { method: "DELETE", headers: auth });
  const response = await cancel();
  assert.equal(response.status, 204, response.text);
  const cancelled = await until(op.id, "cancelled");
  assert.equal(cancelled.result, "cancelled during hold; undone: prepare");
  const events = (await get(`/tasks/${op.id}/output?type=event`)).text;
  assert.match(events, /"stage":"Undoing Testing","tags":\[\],"total":2,"task":"prepare","index":1,"state":"finished"/);
  assert.match(directorError(await cancel(), 400), /already finished/);
  directorError(await send(master.url, "/task/9999", { method: "DELETE", headers: auth }), 404);
  directorError(await send(master.url, `/task/${op.id}`, { method: "DELETE" }), 401);
});

test("callers who are not master admins see, read and cancel only their grids' tasks", async (t) => {
  const { master, submit, get, until } = await directorMaster(t);
  const ours = await submit({ params: { hold: true } });
  const theirs = await submit({ grid: "other", params: { hold: true } });
  await until(ours.id, "processing");
  await until(theirs.id, "processing");
  await master.core.users.create({ username: "member", password: "a long enough password" });
  await master.core.users.setGridRole("member", "default", "member");
  const member = { authorization: `Basic ${Buffer.from("member:a long enough password").toString("base64")}` };

  const listed = (await get("/tasks", member)).json() as Task[];
  assert.deepEqual(
    listed.map((task) => task.id),
    [ours.id],
  );
  assert.equal((await get(`/tasks/${ours.id}`, member)).status, 200);
  for (const path of [`/tasks/${theirs.id}`, `/tasks/${theirs.id}/output?type=event`]) {
    const hidden = await get(path, member);
    directorError(hidden, 404);
    assert.deepEqual(hidden.json(), { code: 10001, description: `Task ${theirs.id} not found` });
  }
  const cancelTheirs = await send(master.url, `/task/${theirs.id}`, { method: "DELETE", headers: member });
  directorError(cancelTheirs, 404);
  assert.equal(((await get(`/tasks/${theirs.id}`)).json() as Task).state, "processing");
  assert.equal((await send(master.url, `/task/${ours.id}`, { method: "DELETE", headers: member })).status, 204);
  await until(ours.id, "cancelled");
});
