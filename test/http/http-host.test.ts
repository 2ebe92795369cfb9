import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createConsulFace } from "../../src/faces/consul/consul-face.ts";
import { createNativeFace } from "../../src/faces/native/native-face.ts";
import { createHttpHost } from "../../src/http/http-host.ts";
import { createLogger } from "../../src/http/http-logger.ts";
import { errorShapeOf } from "../support/face-error-shapes.ts";
import { send } from "../support/http-client.ts";
import { createProbeFace, PROBE_PREFIX } from "../support/probe-face.ts";
import { startTestHost } from "../support/test-host.ts";

const probeError = errorShapeOf("consul");

test("an unexpected exception is a generic 500 in the face's shape, logged with the request id", async (t) => {
  const server = await startTestHost(t, (core, store) => [createProbeFace(core, store)]);
  for (const path of ["/probe/crash", "/probe/reject"]) {
    const response = await send(server.url, path, { headers: { "x-request-id": `trace-${path.length}` } });
    assert.equal(probeError(response, 500), "internal server error");
    assert.doesNotMatch(response.text, /hunter2|etc\/berth|at .*\.ts/);
    const requestId = response.headers.get("x-request-id");
    assert.equal(requestId, `trace-${path.length}`);
    const logged = server.logs.find((line) => line.reqId === requestId && line.level === 50);
    assert.ok(logged, "the failure is logged at error level with the request id");
    assert.equal(logged.msg, "request failed");
    assert.ok(logged.err, "with the error, for the operator");
  }
});

test("request ids: a sane incoming id is kept, anything else is replaced by a UUID", async (t) => {
  const server = await startTestHost(t);
  const kept = await send(server.url, "/v1/config", { headers: { "x-request-id": "abc-123.def:ghi" } });
  assert.equal(kept.headers.get("x-request-id"), "abc-123.def:ghi");
  for (const insane of ["has space", "x".repeat(200), "new\u0085line", ""]) {
    const replaced = await send(server.url, "/v1/config", { headers: { "x-request-id": insane } });
    assert.match(replaced.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/, JSON.stringify(insane));
  }
  const a = await send(server.url, "/nope");
  const b = await send(server.url, "/nope");
  assert.equal(a.status, 404);
  assert.notEqual(a.headers.get("x-request-id"), b.headers.get("x-request-id"));
  assert.ok(server.logs.some((line) => line.reqId === a.headers.get("x-request-id")));
});

test("a face's own body limit applies to its routes", async (t) => {
  const server = await startTestHost(t, (core, store) => [createProbeFace(core, store)]);
  const json = { "content-type": "application/json" };
  const fits = await send(server.url, "/probe/echo", {
    method: "POST",
    headers: json,
    body: JSON.stringify("x".repeat(500 * 1024)),
  });
  assert.equal(fits.status, 200);
  const tooBig = await send(server.url, "/probe/echo", {
    method: "POST",
    headers: json,
    body: JSON.stringify("x".repeat(520 * 1024)),
  });
  probeError(tooBig, 413);
  probeError(await send(server.url, "/probe/echo", { method: "POST", headers: json, body: "{oops" }), 400);
  probeError(
    await send(server.url, "/probe/echo", { method: "POST", headers: { "content-type": "image/png" }, body: "x" }),
    415,
  );
});

test("the route table lists every route with its face", async (t) => {
  const server = await startTestHost(t);
  const routes = server.host.routes().map((route) => `${route.face} ${route.method} ${route.url}`);
  for (const expected of [
    "host GET /healthz",
    "host GET /readyz",
    "native GET /v1/config",
    "native PATCH /v1/config",
    "native PUT /v1/config",
    "consul GET /v1/status/leader",
    "consul GET /v1/status/peers",
    "director GET /info",
  ]) {
    assert.ok(routes.includes(expected), `${expected} missing from ${routes.join(", ")}`);
  }
});

test("a face registering a route outside its mounts, or two faces sharing a mount, fail at startup", async () => {
  const logger = createLogger("silent");
  const stray = {
    name: "stray",
    mounts: ["/stray"],
    renderError: () => ({ contentType: "text/plain", body: "" }),
    register(app: import("fastify").FastifyInstance) {
      app.get("/elsewhere", async () => "no");
    },
  };
  await assert.rejects(createHttpHost({ faces: [stray], fallbackFace: "stray", logger }), /outside its mounts/);
  const nativeCore = { config: { update: async () => ({}) }, users: {}, authenticator: {} } as never;
  const clash = { ...createNativeFace(nativeCore), name: "second", mounts: ["/v1/config/sub"] };
  await assert.rejects(
    createHttpHost({ faces: [createNativeFace(nativeCore), clash], fallbackFace: "native", logger }),
    /overlaps/,
  );
  const cluster = { status: () => ({ leader: "", peers: [], index: 1 }) } as never;
  await assert.rejects(
    createHttpHost({ faces: [createConsulFace({ cluster } as never)], fallbackFace: "native", logger }),
    /fallback face/,
  );
});

test("/healthz is always 200; /readyz is 503 until the master is ready and again while draining", async () => {
  const cluster = { status: () => ({ leader: "", peers: [], index: 1 }) } as never;
  const host = await createHttpHost({
    faces: [
      createConsulFace({ cluster } as never),
      createNativeFace({ config: {}, users: {}, authenticator: {} } as never),
    ],
    fallbackFace: "native",
    logger: createLogger("silent"),
  });
  const { port } = await host.listen({ host: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${port}`;
  try {
    assert.equal((await send(url, "/healthz")).status, 200);
    const starting = await send(url, "/readyz");
    assert.equal(starting.status, 503);
    assert.deepEqual(starting.json(), { status: "starting" });
    host.markReady();
    const ready = await send(url, "/readyz");
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.json(), { status: "ready" });
    assert.deepEqual((await send(url, "/healthz")).json(), { status: "ok" });
  } finally {
    await host.close();
  }
  assert.equal(host.state(), "draining");
});

test("shutdown lets an in-flight request finish, wakes a blocked query at once, then stops listening", async (t) => {
  const server = await startTestHost(t, (core, store) => [createProbeFace(core, store)]);
  await server.store.put(`${PROBE_PREFIX}a`, "1");
  const index = server.store.lastChange(PROBE_PREFIX);

  const slow = send(server.url, "/probe/slow?ms=400");
  const blocked = send(server.url, `/probe/watch?index=${index}&wait=5m`);
  await sleep(100);
  assert.equal(server.core.blockingQueries.waitingCount, 1);

  const started = performance.now();
  const closed = server.close();
  const blockedResponse = await blocked;
  assert.ok(performance.now() - started < 300, "the blocked query answered at once, not after its wait");
  assert.equal(blockedResponse.status, 200);
  assert.equal(blockedResponse.headers.get("x-consul-index"), String(index));
  assert.deepEqual(blockedResponse.json(), { keys: 1 });

  const slowResponse = await slow;
  assert.equal(slowResponse.status, 200, "the in-flight request was drained, not cut");
  assert.deepEqual(slowResponse.json(), { done: true });
  await closed;
  const closeMs = performance.now() - started;
  assert.ok(closeMs >= 250, "close waited for the in-flight request");
  assert.ok(closeMs < 2_000, `close took ${closeMs} ms: kept-alive connections were not let go`);
  await assert.rejects(send(server.url, "/healthz"), "no longer listening");
});

test("a request that arrives while draining gets a 503 in its face's shape", async (t) => {
  const server = await startTestHost(t, (core, store) => [createProbeFace(core, store)]);
  const slow = send(server.url, "/probe/slow?ms=400");
  // A second connection with a request half sent: it is not idle, so draining does not cut it.
  const socket = connect(Number(new URL(server.url).port), "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write("GET /v1/config HTTP/1.1\r\nHost: localhost\r\n");
  await sleep(50);
  const closed = server.close();
  await sleep(50);
  let raw = "";
  socket.on("data", (chunk) => (raw += chunk));
  const ended = new Promise((resolve) => socket.once("close", resolve));
  socket.write("\r\n");
  await ended;
  assert.match(raw, /^HTTP\/1\.1 503 /);
  assert.match(raw, /connection: close/i);
  assert.match(raw, /\{"error":"the master is shutting down"\}$/);
  assert.equal((await slow).status, 200);
  await closed;
});

test("a long poll whose client goes away stops waiting and releases its watch", async (t) => {
  const server = await startTestHost(t, (core, store) => [createProbeFace(core, store)]);
  const index = server.store.currentRevision();
  // Core services keep watches of their own (session TTL expiry).
  const serviceWatchers = server.store.watcherCount;
  const controller = new AbortController();
  const poll = send(server.url, `/probe/watch?index=${index}&wait=1m`, { signal: controller.signal });
  await sleep(100);
  assert.equal(server.core.blockingQueries.waitingCount, 1);
  assert.equal(server.store.watcherCount, serviceWatchers + 1);
  controller.abort();
  await assert.rejects(poll);
  await sleep(100);
  assert.equal(server.core.blockingQueries.waitingCount, 0);
  assert.equal(server.store.watcherCount, serviceWatchers);
});

test("a long poll over HTTP wakes on a write under its prefix", async (t) => {
  const server = await startTestHost(t, (core, store) => [createProbeFace(core, store)]);
  const first = await send(server.url, "/probe/watch");
  const index = Number(first.headers.get("x-consul-index"));
  assert.ok(index >= 1);
  const poll = send(server.url, `/probe/watch?index=${index}&wait=30s`);
  await sleep(50);
  await server.store.put("/elsewhere/x", "1");
  await sleep(50);
  const { revision } = await server.store.put(`${PROBE_PREFIX}b`, "1");
  const response = await poll;
  assert.equal(response.headers.get("x-consul-index"), String(revision));
  assert.deepEqual(response.json(), { keys: 1 });
});

test("bad ?index= or ?wait= is a 400 in the face's shape", async (t) => {
  const server = await startTestHost(t, (core, store) => [createProbeFace(core, store)]);
  for (const query of [
    "index=abc",
    "index=-1",
    "index=1.5",
    "index=99999999999999999999999",
    "wait=10",
    "wait=5x",
    "wait=-5s",
    "wait=1h30",
    "index=1&wait=s",
  ]) {
    const message = probeError(await send(server.url, `/probe/watch?${query}`), 400);
    assert.match(message, query.includes("wait") ? /invalid wait/ : /invalid index/, query);
  }
  const good = await send(server.url, "/probe/watch?index=0&wait=9.87s");
  assert.equal(good.status, 200);
});

test("request logs carry the request id and no credentials", async (t) => {
  const server = await startTestHost(t);
  const response = await send(server.url, "/v1/status/leader?token=s3cret-token", {
    headers: { authorization: "Bearer very-secret", cookie: "sid=secret-cookie" },
  });
  assert.equal(response.status, 200);
  const requestId = response.headers.get("x-request-id");
  const lines = server.logs.filter((line) => line.reqId === requestId);
  assert.ok(lines.length >= 2, "incoming and completed lines");
  const text = JSON.stringify(server.logs);
  for (const secret of ["s3cret-token", "very-secret", "secret-cookie"])
    assert.ok(!text.includes(secret), `${secret} leaked`);
  assert.ok(text.includes("token=[redacted]"));
});
