import assert from "node:assert/strict";
import { test } from "node:test";
import { errorShapeOf, errorShapes } from "../support/face-error-shapes.ts";
import { send } from "../support/http-client.ts";
import { startTestMaster } from "../support/test-master.ts";

const MALFORMED_JSON = '{"name": "web", ';
const HUGE_BODY = `{"blob":"${"x".repeat(2 * 1024 * 1024)}"}`;
/** Deep enough that no parametric route (`/v1/secrets/:grid/:name`…) takes it for a record's id. */
const NO_SUCH_ROUTE = "/no-such-route/at/all/really";
/** Every path under Consul's /v1/kv is a key, so no path there is an unknown route. */
const KEY_SPACE = "/v1/kv";

/** Requests that are wrong in each way a client can be wrong about the body. */
const badBodies = [
  { label: "malformed JSON", headers: { "content-type": "application/json" }, body: MALFORMED_JSON },
  { label: "wrong content type", headers: { "content-type": "application/xml" }, body: "<grid/>" },
  { label: "oversized body", headers: { "content-type": "application/json" }, body: HUGE_BODY },
  { label: "JSON of the wrong type", headers: { "content-type": "application/json" }, body: "[1, 2, 3]" },
];

test("every mount belongs to a face with a known error shape", async (t) => {
  const master = await startTestMaster(t);
  const faces = new Set(master.host.mounts().map((mount) => mount.face.name));
  assert.deepEqual([...faces].sort(), Object.keys(errorShapes).sort());
});

test("an unknown route under each mount is a 404 in that face's shape", async (t) => {
  const master = await startTestMaster(t);
  for (const { prefix, face } of master.host.mounts()) {
    if (prefix === KEY_SPACE) continue;
    const response = await send(master.url, `${prefix}${NO_SUCH_ROUTE}`);
    const message = errorShapeOf(face.name)(response, 404);
    assert.match(message, /no such route/, `${prefix}: ${message}`);
  }
  // A missing key is Consul's empty 404 with the index headers, not an error message.
  const missingKey = await send(master.url, `${KEY_SPACE}${NO_SUCH_ROUTE}`, { headers: master.auth });
  assert.equal(missingKey.status, 404);
  assert.equal(missingKey.text, "");
  assert.ok(Number(missingKey.headers.get("x-consul-index")) >= 1);
});

test("a bad body sent to an unknown route is still a 404, in the face's shape", async (t) => {
  const master = await startTestMaster(t);
  for (const { prefix, face } of master.host.mounts()) {
    for (const bad of badBodies) {
      const response = await send(master.url, `${prefix}${NO_SUCH_ROUTE}`, { method: "POST", ...bad });
      // A key takes GET, PUT and DELETE: POST is a 405 there, as in Consul.
      errorShapeOf(face.name)(response, prefix === KEY_SPACE ? 405 : 404);
    }
  }
});

test("paths under no mount answer 404 in the native shape, even next to a mount", async (t) => {
  const master = await startTestMaster(t);
  for (const path of ["/", "/nope", "/v1/kvx", "/v1", "/apis", "/information", "/v2/kv/a"]) {
    const message = errorShapeOf("native")(await send(master.url, path), 404);
    assert.match(message, /no such route/);
  }
});

test("a known path with the wrong method is a 405 with Allow, in the face's shape", async (t) => {
  const master = await startTestMaster(t);
  const cases = [
    { path: "/v1/config", face: "native", allow: "GET, HEAD, PATCH, PUT" },
    { path: "/v1/status/leader", face: "consul", allow: "GET, HEAD" },
    { path: "/info", face: "director", allow: "GET, HEAD" },
  ];
  for (const { path, face, allow } of cases) {
    const response = await send(master.url, path, { method: "DELETE" });
    errorShapeOf(face)(response, 405);
    assert.equal(response.headers.get("allow"), allow);
  }
});

test("route sweep: no bad body on any registered route produces a 500", async (t) => {
  const master = await startTestMaster(t);
  const routes = master.host.routes().filter((route) => route.method !== "HEAD");
  assert.ok(routes.length >= 6, "the sweep found too few routes to mean anything");
  for (const route of routes) {
    const path = route.url.replace(/:[^/]+/g, "x").replace(/\*$/, "x");
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
      for (const bad of badBodies) {
        if (method === "GET") continue; // fetch cannot send a body with GET
        // As the admin, so that the bodies get past authentication to the parsers.
        const response = await send(master.url, path, { method, ...bad, headers: { ...bad.headers, ...master.auth } });
        assert.ok(response.status < 500, `${method} ${path} with ${bad.label}: ${response.status} ${response.text}`);
        if (route.face !== "host" && response.status >= 400) errorShapeOf(route.face)(response, response.status);
      }
      const plain = await send(master.url, path, { method, headers: master.auth });
      assert.ok(plain.status < 500, `${method} ${path}: ${plain.status} ${plain.text}`);
    }
  }
});

test("a malformed URL is a 400 in the shape of the face it falls under, with a request id", async (t) => {
  const master = await startTestMaster(t);
  const cases = [
    { path: "/v1/config/%zz", face: "native" },
    { path: "/v1/status/%zz", face: "consul" },
    { path: "/networks/%", face: "network" },
    { path: "/tasks/%e0%a4%a", face: "director" },
    { path: "/api/%zz", face: "docker-gateway" },
    { path: "/%zz", face: "native" },
  ];
  for (const { path, face } of cases) {
    const response = await send(master.url, path);
    assert.match(errorShapeOf(face)(response, 400), /not a valid URL/, path);
    assert.match(response.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/, path);
  }
});

test("percent-escaped paths are matched like the router matches them", async (t) => {
  const master = await startTestMaster(t);
  const routed = await send(master.url, "/v1/status/lead%65r");
  assert.equal(routed.status, 200);
  assert.match(routed.text, /^"127\.0\.0\.1:\d+"$/);
  const key = await send(master.url, "/v1/k%76/x", { headers: master.auth });
  assert.equal(key.status, 404, "routed to the KV endpoint: key x is missing");
  assert.ok(key.headers.get("x-consul-index"));
});
