import assert from "node:assert/strict";
import { test } from "node:test";
import { send, sendJson } from "../../support/http-client.ts";
import { startTestMaster } from "../../support/test-master.ts";

test("GET /v1/status/leader is the master's address as a JSON string, with Consul's query headers", async (t) => {
  const master = await startTestMaster(t);
  const port = new URL(master.url).port;
  const response = await send(master.url, "/v1/status/leader");
  assert.equal(response.status, 200);
  assert.match(response.contentType, /^application\/json/);
  assert.equal(response.text, `"127.0.0.1:${port}"`);
  assert.equal(response.headers.get("x-consul-knownleader"), "true");
  assert.equal(response.headers.get("x-consul-lastcontact"), "0");
  assert.ok(Number(response.headers.get("x-consul-index")) >= 1);
});

test("GET /v1/status/peers lists the one master", async (t) => {
  const master = await startTestMaster(t);
  const response = await send(master.url, "/v1/status/peers");
  assert.equal(response.status, 200);
  assert.deepEqual(response.json(), [`127.0.0.1:${new URL(master.url).port}`]);
  assert.equal(response.headers.get("x-consul-knownleader"), "true");
});

test("X-Consul-Index follows the store's revision", async (t) => {
  const master = await startTestMaster(t);
  const before = Number((await send(master.url, "/v1/status/leader")).headers.get("x-consul-index"));
  await sendJson(master.url, "/v1/config", "PATCH", { a: "b" }, master.auth);
  const after = Number((await send(master.url, "/v1/status/peers")).headers.get("x-consul-index"));
  assert.equal(after, before + 1);
});
