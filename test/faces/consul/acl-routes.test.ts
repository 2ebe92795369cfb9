import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import Consul from "consul";
import type { MasterOptions } from "../../../src/master/start-master.ts";
import { userHeaders } from "../../support/grid-callers.ts";
import { send, sendJson } from "../../support/http-client.ts";
import { startTestMaster, type TestMaster } from "../../support/test-master.ts";

const MASTER_TOKEN = "6b3b5a0e-8f3d-4c55-9a4b-5d7f2a1e0c11";

interface AclInfo {
  CreateIndex: number;
  ModifyIndex: number;
  ID: string;
  Name: string;
  Type: string;
  Rules: string;
}

async function start(t: TestContext, options: Partial<MasterOptions> = {}) {
  const master = await startTestMaster(t, undefined, { consulAclMasterToken: MASTER_TOKEN, ...options });
  return { master, consul: consulFor(master, MASTER_TOKEN) };
}

function consulFor(master: TestMaster, token?: string): Consul {
  const { port } = new URL(master.url);
  return new Consul({ host: "127.0.0.1", port: Number(port), defaults: token === undefined ? {} : { token } });
}

/** The status and full body of a failed client call. */
async function failure(call: Promise<unknown>): Promise<{ status: number; body: string }> {
  try {
    await call;
  } catch (error) {
    const response = (error as { response?: { statusCode: number; body: unknown } }).response;
    assert.ok(response, `expected an HTTP error, got ${String(error)}`);
    return { status: response.statusCode, body: String(response.body) };
  }
  assert.fail("the call succeeded");
}

describe("Consul ACL endpoints", () => {
  it("create, info, update, clone, list and destroy tokens", async (t) => {
    const { consul } = await start(t);
    const rules = 'key "app/" { policy = "write" }';
    const { ID: id } = (await consul.acl.legacy.create({ name: "app", type: "client", rules })) as { ID: string };
    assert.match(id, /^[0-9a-f-]{36}$/);

    const info = (await consul.acl.legacy.info(id)) as AclInfo;
    assert.deepEqual(
      { ...info, CreateIndex: 0, ModifyIndex: 0 },
      {
        CreateIndex: 0,
        ModifyIndex: 0,
        ID: id,
        Name: "app",
        Type: "client",
        Rules: rules,
      },
    );
    assert.equal(info.CreateIndex, info.ModifyIndex);

    await consul.acl.legacy.update({ id, name: "app v2", rules: 'key "app/" { policy = "read" }' });
    const updated = (await consul.acl.legacy.info(id)) as AclInfo;
    assert.equal(updated.Name, "app v2");
    assert.equal(updated.Rules, 'key "app/" { policy = "read" }');
    assert.equal(updated.CreateIndex, info.CreateIndex);
    assert.ok(updated.ModifyIndex > info.ModifyIndex);

    const { ID: copy } = (await consul.acl.legacy.clone(id)) as { ID: string };
    assert.notEqual(copy, id);
    const cloned = (await consul.acl.legacy.info(copy)) as AclInfo;
    assert.deepEqual([cloned.Name, cloned.Type, cloned.Rules], [updated.Name, updated.Type, updated.Rules]);

    const listed = (await consul.acl.legacy.list()) as AclInfo[];
    assert.deepEqual(listed.map((token) => token.ID).sort(), ["anonymous", copy, id].sort());
    assert.equal(listed.find((token) => token.ID === "anonymous")?.Name, "Anonymous Token");

    await consul.acl.legacy.destroy(id);
    assert.equal(await consul.acl.legacy.info(id), undefined);
    assert.equal(((await consul.acl.legacy.list()) as AclInfo[]).length, 2);
  });

  it("answers in Consul's wire shapes: {ID} for create and update, true for destroy, null for an unknown token", async (t) => {
    const { master } = await start(t);
    const headers = { "x-consul-token": MASTER_TOKEN };
    const created = await send(master.url, "/v1/acl/create", { method: "PUT", headers });
    assert.equal(created.status, 200);
    const { ID: id } = created.json() as { ID: string };
    const updated = await send(master.url, "/v1/acl/update", {
      method: "PUT",
      headers,
      body: JSON.stringify({ ID: id, Name: "n" }),
    });
    assert.deepEqual(updated.json(), { ID: id });
    const info = await send(master.url, `/v1/acl/info/${id}`);
    assert.equal((info.json() as AclInfo[])[0]?.Name, "n");
    assert.ok(Number(info.headers.get("x-consul-index")) >= 1);
    assert.equal(info.headers.get("x-consul-knownleader"), "true");
    const destroyed = await send(master.url, `/v1/acl/destroy/${id}`, { method: "PUT", headers });
    assert.equal(destroyed.text, "true");
    const missing = await send(master.url, `/v1/acl/info/${id}`);
    assert.equal(missing.status, 200);
    assert.equal(missing.text, "null");
  });

  it("reads Consul's decoder's way: fields in any case, unknown fields ignored, any content type", async (t) => {
    const { master } = await start(t);
    const response = await send(master.url, `/v1/acl/create?token=${MASTER_TOKEN}`, {
      method: "PUT",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: JSON.stringify({ name: "lower", TYPE: "management", CreateIndex: 99999, Extra: true }),
    });
    assert.equal(response.status, 200, response.text);
    const { ID: id } = response.json() as { ID: string };
    const [token] = (await send(master.url, `/v1/acl/info/${id}`)).json() as AclInfo[];
    assert.equal(token?.Name, "lower");
    assert.equal(token?.Type, "management");
    assert.notEqual(token?.CreateIndex, 99999);
  });

  it("creates a token under a chosen ID, and update needs one", async (t) => {
    const { consul, master } = await start(t);
    const headers = { "x-consul-token": MASTER_TOKEN };
    const chosen = await sendJson(master.url, "/v1/acl/create", "PUT", { ID: "ci-runner-token", Name: "ci" }, headers);
    assert.deepEqual(chosen.json(), { ID: "ci-runner-token" });
    assert.equal(((await consul.acl.legacy.info("ci-runner-token")) as AclInfo).Name, "ci");
    const noId = await sendJson(master.url, "/v1/acl/update", "PUT", { Name: "x" }, headers);
    assert.deepEqual([noId.status, noId.text], [400, "ACL ID must be set"]);
  });

  it("refuses bad input with a 400 naming the problem, and writes nothing", async (t) => {
    const { consul, master } = await start(t);
    const headers = { "x-consul-token": MASTER_TOKEN };
    const before = ((await consul.acl.legacy.list()) as AclInfo[]).length;
    const cases: [unknown, RegExp][] = [
      [
        { Rules: 'key "" { policy = "read" }\nkey "foo/" {\n  policy = "write"\n' },
        /line 4, column \d+: object expected closing RBRACE/,
      ],
      [{ Rules: 'key "a" {\n  policy = writ\n}' }, /^ACL rule compilation failed: line 2, column \d+: /],
      [{ Rules: 'node "" { policy = "read" }\noperator = "read"' }, /unknown rule type "operator"/],
      [{ Rules: 'key "a" { policy = "admin" }' }, /invalid policy "admin"/],
      [{ Type: "root" }, /^Request decode failed: Type: must be "client" or "management"$/],
      [{ Name: 5 }, /^Request decode failed: Name: must be a string$/],
      [{ ID: "has spaces" }, /^Request decode failed: ID: must be 1 to 128/],
      [[1, 2], /^Request decode failed: must be a JSON object$/],
    ];
    for (const [body, message] of cases) {
      const response = await sendJson(master.url, "/v1/acl/create", "PUT", body, headers);
      assert.equal(response.status, 400, `${JSON.stringify(body)} → ${response.text}`);
      assert.match(response.contentType, /^text\/plain/);
      assert.match(response.text, message);
    }
    const broken = await send(master.url, "/v1/acl/create", { method: "PUT", headers, body: "{not json" });
    assert.equal(broken.status, 400);
    assert.match(broken.text, /^Request decode failed: /);
    assert.equal(((await consul.acl.legacy.list()) as AclInfo[]).length, before);
  });

  it("accepts rules in JSON", async (t) => {
    const { consul } = await start(t);
    const rules = JSON.stringify({ key: { "app/": { policy: "write" } }, service: { "": { policy: "read" } } });
    const { ID: id } = (await consul.acl.legacy.create({ rules })) as { ID: string };
    assert.equal(((await consul.acl.legacy.info(id)) as AclInfo).Rules, rules);
    const malformed = await failure(consul.acl.legacy.create({ rules: '{"key": {"app/": {"policy": "write"}}' }));
    assert.equal(malformed.status, 400);
    assert.match(malformed.body, /^ACL rule compilation failed: invalid JSON/);
  });

  it("takes a management token for all but info: a client token gets 403 Permission denied", async (t) => {
    const { consul, master } = await start(t);
    const { ID: client } = (await consul.acl.legacy.create({ rules: 'key "" { policy = "write" }' })) as { ID: string };
    const asClient = consulFor(master, client);
    const calls: [string, () => Promise<unknown>][] = [
      ["create", () => asClient.acl.legacy.create({ name: "x" })],
      ["update", () => asClient.acl.legacy.update({ id: client, type: "management" })],
      ["clone", () => asClient.acl.legacy.clone(client)],
      ["destroy", () => asClient.acl.legacy.destroy(client)],
      ["list", () => asClient.acl.legacy.list()],
    ];
    for (const [name, call] of calls) {
      assert.deepEqual(await failure(call()), { status: 403, body: "Permission denied" }, name);
    }
    const anonymous = consulFor(master);
    assert.deepEqual(await failure(anonymous.acl.legacy.list()), { status: 403, body: "Permission denied" });
    // Knowing a token's ID is holding it: info needs no other token.
    assert.equal(((await anonymous.acl.legacy.info(client)) as AclInfo).Type, "client");
    assert.equal(((await consul.acl.legacy.info(client)) as AclInfo).Type, "client", "the update was refused");
  });

  it("takes the token from ?token=, X-Consul-Token or Authorization: Bearer", async (t) => {
    const { master } = await start(t);
    const ways: [string, Record<string, string>][] = [
      [`/v1/acl/list?token=${MASTER_TOKEN}`, {}],
      ["/v1/acl/list", { "x-consul-token": MASTER_TOKEN }],
      ["/v1/acl/list", { authorization: `Bearer ${MASTER_TOKEN}` }],
      // ?token= wins over the header, as in Consul.
      [`/v1/acl/list?token=${MASTER_TOKEN}`, { "x-consul-token": "anonymous" }],
    ];
    for (const [path, headers] of ways) {
      assert.equal((await send(master.url, path, { headers })).status, 200, `${path} ${JSON.stringify(headers)}`);
    }
    const headerLoses = await send(master.url, "/v1/acl/list?token=anonymous", {
      headers: { "x-consul-token": MASTER_TOKEN },
    });
    assert.equal(headerLoses.status, 403);
  });

  it("refuses a token it does not know with 403 ACL not found, except on info", async (t) => {
    const { master } = await start(t);
    const unknown = await send(master.url, "/v1/acl/list", { headers: { "x-consul-token": "no-such-token" } });
    assert.deepEqual([unknown.status, unknown.text], [403, "ACL not found"]);
    const info = await send(master.url, "/v1/acl/info/anonymous", { headers: { "x-consul-token": "no-such-token" } });
    assert.equal(info.status, 200);
  });

  it("lets a master_admin's Berth token manage ACLs, and not another user's", async (t) => {
    const { master } = await start(t, { consulAclMasterToken: "" });
    const admin = await send(master.url, "/v1/acl/list", { headers: master.auth });
    assert.equal(admin.status, 200, admin.text);
    // A plain user's Berth token counts as the anonymous token: no ACL management.
    const asDev = await send(master.url, "/v1/acl/list", { headers: await userHeaders(master, "dev") });
    assert.deepEqual([asDev.status, asDev.text], [403, "Permission denied"]);
  });

  it("protects the anonymous token and the master token", async (t) => {
    const { consul, master } = await start(t);
    assert.deepEqual(await failure(consul.acl.legacy.destroy("anonymous")), {
      status: 403,
      body: "Permission denied: Cannot delete anonymous token",
    });
    const management = await failure(consul.acl.legacy.update({ id: "anonymous", type: "management" }));
    assert.equal(management.status, 400);
    await consul.acl.legacy.update({
      id: "anonymous",
      name: "Anonymous Token",
      rules: 'key "pub/" { policy = "read" }',
    });
    assert.equal(((await consul.acl.legacy.info("anonymous")) as AclInfo).Rules, 'key "pub/" { policy = "read" }');
    assert.equal((await failure(consul.acl.legacy.destroy(MASTER_TOKEN))).status, 403);
    const headers = { "x-consul-token": MASTER_TOKEN };
    const shadow = await sendJson(master.url, "/v1/acl/create", "PUT", { ID: MASTER_TOKEN, Type: "client" }, headers);
    assert.equal(shadow.status, 403);
  });

  it("lets the default policy setting decide what no rule covers, end to end", async (t) => {
    const fire = (url: string, name: string, headers: Record<string, string> = {}) =>
      send(url, `/v1/event/fire/${name}`, { method: "PUT", headers });
    const deny = await start(t);
    const anonymous = await fire(deny.master.url, "deploy");
    assert.deepEqual([anonymous.status, anonymous.text], [403, "Permission denied"]);
    const { ID: deployer } = (await deny.consul.acl.legacy.create({
      rules: 'event "deploy" { policy = "write" }',
    })) as {
      ID: string;
    };
    assert.equal((await fire(deny.master.url, "deploy", { "x-consul-token": deployer })).status, 200);
    assert.equal((await fire(deny.master.url, "restart", { "x-consul-token": deployer })).status, 403);

    const allow = await start(t, { consulAclDefaultPolicy: "allow" });
    assert.equal((await fire(allow.master.url, "deploy")).status, 200);
    await allow.consul.acl.legacy.update({ id: "anonymous", rules: 'event "audit" { policy = "deny" }' });
    assert.equal((await fire(allow.master.url, "audit")).status, 403);
    assert.equal((await fire(allow.master.url, "deploy")).status, 200);
  });

  it("answers every ACL endpoint with 401 ACL support disabled when ACLs are off", async (t) => {
    const { master } = await start(t, { consulAcl: false });
    const requests: [string, string][] = [
      ["PUT", "/v1/acl/create"],
      ["PUT", "/v1/acl/update"],
      ["PUT", "/v1/acl/destroy/x"],
      ["GET", "/v1/acl/info/x"],
      ["PUT", "/v1/acl/clone/x"],
      ["GET", "/v1/acl/list"],
    ];
    for (const [method, path] of requests) {
      const response = await send(master.url, path, { method, headers: { "x-consul-token": MASTER_TOKEN } });
      assert.deepEqual([response.status, response.text], [401, "ACL support disabled"], `${method} ${path}`);
    }
  });

  it("answers 404 Target ACL not found when cloning an unknown token, 400 Missing ACL for an empty ID", async (t) => {
    const { master } = await start(t);
    const headers = { "x-consul-token": MASTER_TOKEN };
    const clone = await send(master.url, "/v1/acl/clone/nope", { method: "PUT", headers });
    assert.deepEqual([clone.status, clone.text], [404, "Target ACL not found"]);
    for (const [method, path] of [
      ["PUT", "/v1/acl/destroy/"],
      ["GET", "/v1/acl/info/"],
      ["PUT", "/v1/acl/clone/"],
    ] as const) {
      const response = await send(master.url, path, { method, headers });
      assert.deepEqual([response.status, response.text], [400, "Missing ACL"], `${method} ${path}`);
    }
  });

  it("blocks info and list until a token changes", async (t) => {
    const { master } = await start(t);
    const headers = { "x-consul-token": MASTER_TOKEN };
    const first = await send(master.url, "/v1/acl/list", { headers });
    const index = Number(first.headers.get("x-consul-index"));
    assert.ok(index >= 1);
    const started = Date.now();
    const waiting = send(master.url, `/v1/acl/list?index=${index}&wait=5s`, { headers });
    const infoWaiting = send(master.url, `/v1/acl/info/later?index=${index}&wait=5s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await sendJson(master.url, "/v1/acl/create", "PUT", { ID: "later", Name: "arrives" }, headers);
    const [list, info] = await Promise.all([waiting, infoWaiting]);
    assert.ok(Date.now() - started < 4_000, "the change woke the queries");
    assert.ok(Number(list.headers.get("x-consul-index")) > index);
    assert.equal((list.json() as AclInfo[]).length, 2);
    assert.equal((info.json() as AclInfo[])[0]?.Name, "arrives");
    const timedOut = await send(master.url, `/v1/acl/list?index=${list.headers.get("x-consul-index")}&wait=100ms`, {
      headers,
    });
    assert.equal(timedOut.status, 200);
    assert.equal(timedOut.headers.get("x-consul-index"), list.headers.get("x-consul-index"));
  });
});
