import assert from "node:assert/strict";
import { hostname } from "node:os";
import { describe, it, type TestContext } from "node:test";
import { consulClient, startConsulAclMaster } from "../../support/consul-master.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";

const consulError = errorShapeOf("consul");
const MASTER_TOKEN = "9a7c5e3b-1d2f-4a6b-8c0e-3f5a7b9c1d2e";

/**
 * A master with ACLs on under default deny, a node db-1 besides the master's own, and a TTL
 * session on each, made with the master token.
 */
async function start(t: TestContext) {
  const acl = await startConsulAclMaster(t, MASTER_TOKEN);
  const create = async (body: unknown, id?: string) => {
    const response = await acl.put("/v1/session/create", body, id);
    assert.equal(response.status, 200, response.text);
    return (response.json() as { ID: string }).ID;
  };
  const node = await acl.put("/v1/catalog/register", { Node: "db-1", Address: "10.0.0.1" }, MASTER_TOKEN);
  assert.equal(node.status, 200, node.text);
  const onMaster = await create({ TTL: "30s" }, MASTER_TOKEN);
  const onDb = await create({ Node: "db-1", Checks: [], TTL: "30s" }, MASTER_TOKEN);
  return { ...acl, create, onMaster, onDb };
}

const ids = (response: { json(): unknown }) => (response.json() as { ID: string }[]).map((session) => session.ID);

describe("Consul session ACL rules", () => {
  it("reads show only the sessions of nodes the token may read, silently", async (t) => {
    const { get, token, onMaster, onDb } = await start(t);
    const dbReader = await token('session "db-" { policy = "read" }');
    assert.deepEqual(ids(await get("/v1/session/list", dbReader)), [onDb]);
    assert.deepEqual(ids(await get("/v1/session/node/db-1", dbReader)), [onDb]);
    assert.deepEqual((await get(`/v1/session/node/${hostname()}`, dbReader)).json(), []);
    assert.deepEqual(ids(await get(`/v1/session/info/${onDb}`, dbReader)), [onDb]);
    const hidden = await get(`/v1/session/info/${onMaster}`, dbReader);
    assert.deepEqual([hidden.status, hidden.text], [200, "null"], "a session it may not read is as good as unknown");

    const all = await token('session "" { policy = "read" }\nsession "db-" { policy = "deny" }');
    assert.deepEqual(ids(await get("/v1/session/list", all)), [onMaster]);
    const nodeRules = await token('node "" { policy = "write" }');
    assert.deepEqual((await get("/v1/session/list", nodeRules)).json(), [], "node rules grant nothing on sessions");
  });

  it("create, destroy and renew take session write on the session's node", async (t) => {
    const { put, create, token, onMaster, onDb } = await start(t);
    const reader = await token('session "" { policy = "read" }');
    for (const [path, body] of [
      ["/v1/session/create", {}],
      ["/v1/session/create", { Node: "db-1", Checks: [] }],
      [`/v1/session/renew/${onDb}`, undefined],
      [`/v1/session/destroy/${onDb}`, undefined],
    ] as const) {
      assert.equal(consulError(await put(path, body, reader), 403), "Permission denied", `${path} with read only`);
    }

    const dbWriter = await token('session "db-" { policy = "write" }');
    const mine = await create({ Node: "db-1", Checks: [] }, dbWriter);
    assert.equal(
      consulError(await put("/v1/session/create", {}, dbWriter), 403),
      "Permission denied",
      "the default node is the master's own, which the token may not write",
    );
    const renewed = await put(`/v1/session/renew/${onDb}`, undefined, dbWriter);
    assert.deepEqual(ids(renewed), [onDb]);
    assert.equal(
      consulError(await put(`/v1/session/renew/${onMaster}`, undefined, dbWriter), 403),
      "Permission denied",
    );
    assert.equal(
      consulError(await put(`/v1/session/destroy/${onMaster}`, undefined, dbWriter), 403),
      "Permission denied",
    );
    const destroyed = await put(`/v1/session/destroy/${mine}`, undefined, dbWriter);
    assert.deepEqual([destroyed.status, destroyed.text], [200, "true"]);

    const masterWriter = await token(`session "${hostname()}" { policy = "write" }`);
    assert.equal((await put("/v1/session/create", {}, masterWriter)).status, 200);
  });

  it("ending a session that does not exist: 404 for a client token, idempotent for a management token", async (t) => {
    const { put, token, onDb } = await start(t);
    const writer = await token('session "" { policy = "write" }');
    assert.equal((await put(`/v1/session/destroy/${onDb}`, undefined, writer)).status, 200);
    for (const action of ["destroy", "renew"]) {
      assert.equal(
        consulError(await put(`/v1/session/${action}/${onDb}`, undefined, writer), 404),
        `Session id '${onDb}' not found`,
      );
    }
    const again = await put(`/v1/session/destroy/${onDb}`, undefined, MASTER_TOKEN);
    assert.deepEqual([again.status, again.text], [200, "true"]);
  });

  it("the anonymous token, under default deny, may neither see nor touch a session", async (t) => {
    const { get, put, onMaster, onDb } = await start(t);
    assert.deepEqual((await get("/v1/session/list")).json(), []);
    assert.deepEqual((await get("/v1/session/node/db-1")).json(), []);
    assert.equal((await get(`/v1/session/info/${onDb}`)).text, "null");
    assert.equal(consulError(await put("/v1/session/create", {}), 403), "Permission denied");
    assert.equal(consulError(await put("/v1/session/create"), 403), "Permission denied");
    assert.equal(consulError(await put(`/v1/session/renew/${onMaster}`), 403), "Permission denied");
    assert.equal(consulError(await put(`/v1/session/destroy/${onMaster}`), 403), "Permission denied");
    assert.equal(
      consulError(await put("/v1/session/destroy/no-such-session"), 404),
      "Session id 'no-such-session' not found",
    );
  });

  it("KV acquire and release keep needing key write only, whoever may use the session", async (t) => {
    const { master, token, onDb } = await start(t);
    const locker = consulClient(master, await token('key "locks/" { policy = "write" }'));
    t.after(() => locker.destroy());
    assert.equal(await locker.kv.set({ key: "locks/leader", value: "me", acquire: onDb }), true);
    assert.equal(await locker.kv.set({ key: "locks/leader", value: "me", release: onDb }), true);
    const reader = consulClient(
      master,
      await token('key "locks/" { policy = "read" }\nsession "" { policy = "write" }'),
    );
    t.after(() => reader.destroy());
    await assert.rejects(reader.kv.set({ key: "locks/leader", value: "me", acquire: onDb }), /Permission denied/);
  });
});
