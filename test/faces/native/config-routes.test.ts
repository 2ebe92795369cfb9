import assert from "node:assert/strict";
import { test } from "node:test";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { userHeaders } from "../../support/grid-callers.ts";
import { send, sendJson } from "../../support/http-client.ts";
import { makeTempDir } from "../../support/temp-dir.ts";
import { startTestMaster } from "../../support/test-master.ts";

const nativeError = errorShapeOf("native");

test("GET /v1/config is an empty object on a new master, for authenticated callers only", async (t) => {
  const master = await startTestMaster(t);
  const response = await send(master.url, "/v1/config", { headers: master.auth });
  assert.equal(response.status, 200);
  assert.match(response.contentType, /^application\/json/);
  assert.deepEqual(response.json(), {});
  nativeError(await send(master.url, "/v1/config"), 401);
});

test("PATCH upserts keys and keeps the others; PUT replaces the whole object", async (t) => {
  const master = await startTestMaster(t);
  const first = await sendJson(master.url, "/v1/config", "PATCH", { "foo.bar": "bar", "bar.baz": "baz" }, master.auth);
  assert.equal(first.status, 200);
  assert.deepEqual(first.json(), { "foo.bar": "bar", "bar.baz": "baz" });

  const second = await sendJson(
    master.url,
    "/v1/config",
    "PATCH",
    { "bar.baz": "changed", "new.key": "" },
    master.auth,
  );
  assert.deepEqual(second.json(), { "foo.bar": "bar", "bar.baz": "changed", "new.key": "" });
  assert.deepEqual((await send(master.url, "/v1/config", { headers: master.auth })).json(), second.json());

  const replaced = await sendJson(master.url, "/v1/config", "PUT", { only: "this" }, master.auth);
  assert.equal(replaced.status, 200);
  assert.deepEqual(replaced.json(), { only: "this" });
  assert.deepEqual((await send(master.url, "/v1/config", { headers: master.auth })).json(), { only: "this" });

  const emptied = await sendJson(master.url, "/v1/config", "PUT", {}, master.auth);
  assert.deepEqual(emptied.json(), {});
  assert.deepEqual((await send(master.url, "/v1/config", { headers: master.auth })).json(), {});
});

test("the configuration survives a restart of the master", async (t) => {
  const dataDir = await makeTempDir(t);
  const first = await startTestMaster(t, dataDir);
  await sendJson(first.url, "/v1/config", "PUT", { "server.name": "berth-1" }, first.auth);
  await first.close();
  const second = await startTestMaster(t, dataDir);
  assert.deepEqual((await send(second.url, "/v1/config", { headers: second.auth })).json(), {
    "server.name": "berth-1",
  });
});

test("values that are not strings are a 422 naming each bad key, and nothing is written", async (t) => {
  const master = await startTestMaster(t);
  await sendJson(master.url, "/v1/config", "PUT", { keep: "me" }, master.auth);
  for (const method of ["PATCH", "PUT"]) {
    const response = await sendJson(
      master.url,
      "/v1/config",
      method,
      {
        ok: "fine",
        n: 1,
        nested: { a: "b" },
        off: null,
      },
      master.auth,
    );
    nativeError(response, 422);
    const { error } = response.json() as { error: Record<string, string> };
    assert.deepEqual(Object.keys(error).sort(), ["n", "nested", "off"]);
    assert.equal(error.n, "must be a string");
  }
  assert.deepEqual((await send(master.url, "/v1/config", { headers: master.auth })).json(), { keep: "me" });
});

test("a body that is not an object is a 422 on the body", async (t) => {
  const master = await startTestMaster(t);
  for (const body of [[1, 2], "text", 42, null]) {
    const response = await sendJson(master.url, "/v1/config", "PATCH", body, master.auth);
    nativeError(response, 422);
    assert.deepEqual(Object.keys((response.json() as { error: object }).error), ["body"]);
  }
});

test("an empty key or an overlong key is a 422", async (t) => {
  const master = await startTestMaster(t);
  const response = await sendJson(master.url, "/v1/config", "PATCH", { "": "x", ["k".repeat(300)]: "y" }, master.auth);
  nativeError(response, 422);
});

test("malformed JSON is 400, a wrong content type 415, an oversized body 413, no body 422", async (t) => {
  const master = await startTestMaster(t);
  const json = { "content-type": "application/json", ...master.auth };
  nativeError(await send(master.url, "/v1/config", { method: "PATCH", headers: json, body: '{"a": ' }), 400);
  nativeError(await send(master.url, "/v1/config", { method: "PATCH", headers: json, body: "" }), 400);
  nativeError(
    await send(master.url, "/v1/config", {
      method: "PATCH",
      headers: { "content-type": "text/plain", ...master.auth },
      body: "a=b",
    }),
    415,
  );
  nativeError(
    await send(master.url, "/v1/config", {
      method: "PUT",
      headers: { "content-type": "application/x-www-form-urlencoded", ...master.auth },
      body: "a=b",
    }),
    415,
  );
  const huge = JSON.stringify({ big: "x".repeat(1024 * 1024) });
  const tooLarge = await send(master.url, "/v1/config", { method: "PUT", headers: json, body: huge });
  assert.match(nativeError(tooLarge, 413), /too large/);
  nativeError(await send(master.url, "/v1/config", { method: "PATCH", headers: master.auth }), 422);
  assert.deepEqual((await send(master.url, "/v1/config", { headers: master.auth })).json(), {});
});

test("prototype-poisoning keys are refused with a 400", async (t) => {
  const master = await startTestMaster(t);
  const response = await send(master.url, "/v1/config", {
    method: "PATCH",
    headers: { "content-type": "application/json", ...master.auth },
    body: '{"__proto__": {"polluted": "yes"}}',
  });
  nativeError(response, 400);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("only a master_admin reads or changes the configuration", async (t) => {
  const master = await startTestMaster(t);
  await sendJson(master.url, "/v1/config", "PUT", { keep: "me" }, master.auth);
  const gridAdmin = await userHeaders(master, "grid-admin", { default: "grid_admin" });
  const plain = await userHeaders(master, "plain");
  for (const [headers, status] of [
    [gridAdmin, 403],
    [plain, 403],
    [{}, 401],
  ] as const) {
    nativeError(await send(master.url, "/v1/config", { headers }), status);
    nativeError(await sendJson(master.url, "/v1/config", "PATCH", { a: "b" }, headers), status);
    nativeError(await sendJson(master.url, "/v1/config", "PUT", {}, headers), status);
    // Refused before the body is looked at.
    nativeError(await sendJson(master.url, "/v1/config", "PATCH", { a: 1 }, headers), status);
  }
  assert.deepEqual((await send(master.url, "/v1/config", { headers: master.auth })).json(), { keep: "me" });
});
