import assert from "node:assert/strict";
import { hostname } from "node:os";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { consulFailure, eventually, startConsulMaster } from "../../support/consul-master.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send, sendJson, type TestResponse } from "../../support/http-client.ts";

const consulError = errorShapeOf("consul");
const indexOf = (response: TestResponse): number => Number(response.headers.get("x-consul-index"));

interface SessionEntry {
  ID: string;
  Name: string;
  Node: string;
  Checks: string[];
  LockDelay: number;
  Behavior: string;
  TTL: string;
  CreateIndex: number;
  ModifyIndex: number;
}

const create = async (url: string, body?: unknown): Promise<string> => {
  const response =
    body === undefined
      ? await send(url, "/v1/session/create", { method: "PUT" })
      : await sendJson(url, "/v1/session/create", "PUT", body);
  assert.equal(response.status, 200, response.text);
  return (response.json() as { ID: string }).ID;
};

/** A node of our own in the catalog, with a check in the given state. */
const registerNode = (url: string, node: string, status: string) =>
  sendJson(url, "/v1/catalog/register", "PUT", {
    Node: node,
    Address: "10.0.0.9",
    Check: { Node: node, CheckID: "disk", Name: "disk", Status: status },
  });

describe("Consul session endpoints", () => {
  it("creates with Consul's defaults and reads back through info, node and list", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    const id = await create(master.url);
    const info = await send(master.url, `/v1/session/info/${id}`);
    assert.equal(info.status, 200);
    assert.equal(info.headers.get("x-consul-knownleader"), "true");
    assert.equal(info.headers.get("x-consul-effective-consistency"), "leader");
    const [session] = info.json() as SessionEntry[];
    assert.deepEqual(Object.keys(session!), [
      "ID",
      "Name",
      "Node",
      "Checks",
      "LockDelay",
      "Behavior",
      "TTL",
      "CreateIndex",
      "ModifyIndex",
    ]);
    assert.deepEqual(
      { ...session, CreateIndex: 0, ModifyIndex: 0 },
      {
        ID: id,
        Name: "",
        Node: hostname(),
        Checks: ["serfHealth"],
        LockDelay: 15_000_000_000,
        Behavior: "release",
        TTL: "",
        CreateIndex: 0,
        ModifyIndex: 0,
      },
    );
    assert.equal(indexOf(info), session!.CreateIndex);

    const named = (await consul.session.create({ name: "web-lock", behavior: "delete", ttl: "30s" })) as { ID: string };
    const list = (await consul.session.list()) as unknown as SessionEntry[];
    assert.deepEqual(list.map((s) => s.ID).sort(), [id, named.ID].sort());
    const mine = (await consul.session.node(hostname())) as unknown as SessionEntry[];
    assert.equal(mine.length, 2);
    assert.deepEqual(await consul.session.node("elsewhere"), []);
    const detail = (await consul.session.info(named.ID)) as unknown as SessionEntry;
    assert.deepEqual([detail.Name, detail.Behavior, detail.TTL], ["web-lock", "delete", "30s"]);

    const unknown = await send(master.url, "/v1/session/info/00000000-0000-0000-0000-000000000000");
    assert.equal(unknown.status, 200);
    assert.equal(unknown.text, "null");
    assert.ok(indexOf(unknown) >= 1);
  });

  it("takes LockDelay as a duration or a number, small numbers being seconds, and keys in any case", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    const delayOf = async (body: unknown) =>
      ((await consul.session.info(await create(master.url, body))) as unknown as SessionEntry).LockDelay;
    assert.equal(await delayOf({ LockDelay: "20s" }), 20e9);
    assert.equal(await delayOf({ lockdelay: 30 }), 30e9);
    assert.equal(await delayOf({ LOCKDELAY: 5_000_000_000 }), 5e9);
    assert.equal(await delayOf({ LockDelay: "0s" }), 0);
    const checks = (await consul.session.info(await create(master.url, { checks: [] }))) as unknown as SessionEntry;
    assert.deepEqual(checks.Checks, []);
  });

  it("renews a session into an array, 404s an unknown one, and destroys idempotently", async (t) => {
    const { master } = await startConsulMaster(t);
    const id = await create(master.url, { TTL: "10s" });
    const renewed = await send(master.url, `/v1/session/renew/${id}`, { method: "PUT" });
    assert.equal(renewed.status, 200);
    assert.deepEqual(
      (renewed.json() as SessionEntry[]).map((s) => [s.ID, s.TTL]),
      [[id, "10s"]],
    );
    for (let i = 0; i < 2; i++) {
      const destroyed = await send(master.url, `/v1/session/destroy/${id}`, { method: "PUT" });
      assert.equal(destroyed.status, 200);
      assert.equal(destroyed.text, "true");
    }
    const gone = await send(master.url, `/v1/session/renew/${id}`, { method: "PUT" });
    assert.equal(consulError(gone, 404), `Session id '${id}' not found`);
  });

  for (const behavior of ["release", "delete"]) {
    it(`invalidates an unrenewed TTL session after TTL×2 (behavior ${behavior}), lock delay armed`, async (t) => {
      const { master, consul } = await startConsulMaster(t, { consulSessionTtlMinMs: 500 });
      const lapsing = await create(master.url, { TTL: "500ms", Behavior: behavior, LockDelay: "1s" });
      const other = await create(master.url, { LockDelay: "0s" });
      assert.equal(await consul.kv.set({ key: "ephemeral", value: "v", acquire: lapsing }), true);
      const started = Date.now();
      await eventually(
        () => send(master.url, `/v1/session/info/${lapsing}`),
        (response) => response.text === "null",
        5000,
      );
      const lapsed = Date.now() - started;
      assert.ok(lapsed >= 900 && lapsed < 2500, `invalidated after ${lapsed} ms`);
      const entry = (await consul.kv.get("ephemeral")) as { Session?: string } | undefined;
      if (behavior === "delete") assert.equal(entry, undefined);
      else assert.equal(entry?.Session, undefined);
      // The lock delay keeps the key from being taken right away.
      assert.equal(await consul.kv.set({ key: "ephemeral", value: "w", acquire: other }), undefined);
      await sleep(1000);
      assert.equal(await consul.kv.set({ key: "ephemeral", value: "w", acquire: other }), true);
    });
  }

  it("blocks on info and list until a session changes", async (t) => {
    const { master } = await startConsulMaster(t);
    const id = await create(master.url);
    const list = await send(master.url, "/v1/session/list");
    const waiting = send(master.url, `/v1/session/list?index=${indexOf(list)}&wait=10s`);
    const waitingInfo = send(master.url, `/v1/session/info/${id}?index=${indexOf(list)}&wait=10s`);
    await sleep(100);
    await send(master.url, `/v1/session/destroy/${id}`, { method: "PUT" });
    const [woke, wokeInfo] = await Promise.all([waiting, waitingInfo]);
    assert.deepEqual(woke.json(), []);
    assert.ok(indexOf(woke) > indexOf(list));
    assert.equal(wokeInfo.text, "null");
  });

  it("refuses what Consul refuses: missing node or check, critical check, bad TTL or behavior, bad JSON", async (t) => {
    const { master } = await startConsulMaster(t);
    const refusal = async (body: unknown) => {
      const response = await sendJson(master.url, "/v1/session/create", "PUT", body);
      return { status: response.status, body: response.text };
    };
    assert.deepEqual(await refusal({ Node: "ghost" }), { status: 500, body: "Missing node registration" });
    assert.deepEqual(await refusal({ Checks: ["nope"] }), { status: 500, body: "Missing check 'nope' registration" });
    assert.deepEqual(await refusal({ TTL: "5s" }), {
      status: 500,
      body: "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]",
    });
    assert.deepEqual(await refusal({ TTL: "25h" }), {
      status: 500,
      body: "Invalid Session TTL '90000000000000', must be between [10s=24h0m0s]",
    });
    assert.deepEqual(await refusal({ TTL: "often" }), {
      status: 500,
      body: `Session TTL 'often' invalid: time: invalid duration "often"`,
    });
    assert.deepEqual(await refusal({ Behavior: "explode" }), {
      status: 500,
      body: "Invalid Behavior setting 'explode'",
    });
    assert.equal((await refusal({ TTL: "0s" })).status, 200);
    const broken = await send(master.url, "/v1/session/create", { method: "PUT", body: "{nope" });
    assert.match(consulError(broken, 400), /^Request decode failed: /);
    assert.match(
      consulError(await sendJson(master.url, "/v1/session/create", "PUT", { LockDelay: "15" }), 400),
      /duration/,
    );
    assert.match(consulError(await sendJson(master.url, "/v1/session/create", "PUT", { Checks: "a" }), 400), /Checks/);
    assert.equal(
      consulError(await send(master.url, "/v1/session/destroy/", { method: "PUT" }), 400),
      "Missing session",
    );
    assert.equal(consulError(await send(master.url, "/v1/session/info/"), 400), "Missing session");
    assert.equal(consulError(await send(master.url, "/v1/session/node/"), 400), "Missing node name");
    assert.equal(consulError(await send(master.url, "/v1/session/list?dc=mars"), 500), "No path to datacenter");

    await registerNode(master.url, "db1", "critical");
    assert.deepEqual(await refusal({ Node: "db1", Checks: ["disk"] }), {
      status: 500,
      body: "Check 'disk' is in critical state",
    });
  });

  it("ends sessions when a linked check goes critical or the node is deregistered", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    assert.equal((await registerNode(master.url, "db1", "passing")).status, 200);
    const onDisk = await create(master.url, { Node: "db1", Checks: ["disk"], LockDelay: "0s" });
    const nodeOnly = await create(master.url, { Node: "db1", Checks: [], LockDelay: "0s" });
    await consul.kv.set({ key: "db/leader", value: "db1", acquire: onDisk });

    await registerNode(master.url, "db1", "critical");
    await eventually(
      () => send(master.url, `/v1/session/info/${onDisk}`),
      (response) => response.text === "null",
    );
    assert.equal(((await consul.kv.get("db/leader")) as { Session?: string }).Session, undefined);
    assert.ok(await consul.session.info(nodeOnly));

    await sendJson(master.url, "/v1/catalog/deregister", "PUT", { Node: "db1" });
    await eventually(
      () => send(master.url, `/v1/session/info/${nodeOnly}`),
      (response) => response.text === "null",
    );
    assert.deepEqual(await consulFailure(consul.session.renew(nodeOnly)), {
      status: 404,
      body: `Session id '${nodeOnly}' not found`,
    });
  });
});
