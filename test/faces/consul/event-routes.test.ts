import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { clientToken, consulClient, consulFailure, startConsulMaster } from "../../support/consul-master.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send } from "../../support/http-client.ts";

const consulError = errorShapeOf("consul");
const MASTER_TOKEN = "3c1f0a9e-7b2d-4e8f-a6c5-1d9e8b7a6f54";

interface EventJson {
  ID: string;
  Name: string;
  Payload: string | null;
  NodeFilter: string;
  ServiceFilter: string;
  TagFilter: string;
  Version: number;
  LTime: number;
}

describe("Consul event endpoints", () => {
  it("fire answers the new event (LTime 0, base64 payload) and list shows it with its Lamport time", async (t) => {
    const { master } = await startConsulMaster(t);
    const fired = await send(master.url, "/v1/event/fire/deploy?node=web.*&service=api&tag=v1", {
      method: "PUT",
      // Consul takes the body as it is, whatever the content type says.
      headers: { "content-type": "application/json" },
      body: "1609030 not json",
    });
    assert.equal(fired.status, 200, fired.text);
    const event = fired.json() as EventJson;
    assert.match(event.ID, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepEqual(
      { ...event, ID: "" },
      {
        ID: "",
        Name: "deploy",
        Payload: Buffer.from("1609030 not json").toString("base64"),
        NodeFilter: "web.*",
        ServiceFilter: "api",
        TagFilter: "v1",
        Version: 1,
        LTime: 0,
      },
    );

    const empty = (await send(master.url, "/v1/event/fire/restart", { method: "PUT" })).json() as EventJson;
    assert.equal(empty.Payload, null);

    const list = await send(master.url, "/v1/event/list");
    assert.ok(Number(list.headers.get("x-consul-index")) > 1);
    assert.deepEqual(
      (list.json() as EventJson[]).map((e) => [e.Name, e.LTime, e.ID]),
      [
        ["deploy", 1, event.ID],
        ["restart", 2, empty.ID],
      ],
    );
    const byName = (await send(master.url, "/v1/event/list?name=restart")).json() as EventJson[];
    assert.deepEqual(
      byName.map((e) => e.ID),
      [empty.ID],
    );
  });

  it("the npm client fires and lists, decoding payloads", async (t) => {
    const { consul } = await startConsulMaster(t);
    const fired = (await consul.event.fire("build", "v42")) as EventJson;
    assert.equal(fired.Payload, "v42");
    const listed = (await consul.event.list({ name: "build" })) as EventJson[];
    assert.deepEqual(
      listed.map((e) => [e.Name, e.Payload]),
      [["build", "v42"]],
    );
  });

  it("a blocking list wakes on a new event of its name, and its index is the newest matching event's", async (t) => {
    const { master } = await startConsulMaster(t);
    await send(master.url, "/v1/event/fire/deploy", { method: "PUT", body: "one" });
    const first = await send(master.url, "/v1/event/list?name=deploy");
    const index = first.headers.get("x-consul-index");

    const started = Date.now();
    const waiting = send(master.url, `/v1/event/list?name=deploy&index=${index}&wait=10s`);
    await sleep(100);
    await send(master.url, "/v1/event/fire/other", { method: "PUT" });
    await sleep(100);
    await send(master.url, "/v1/event/fire/deploy", { method: "PUT", body: "two" });
    const woken = await waiting;
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(
      (woken.json() as EventJson[]).map((e) => Buffer.from(e.Payload ?? "", "base64").toString()),
      ["one", "two"],
    );
    assert.ok(Number(woken.headers.get("x-consul-index")) > Number(index));

    const timedOut = await send(
      master.url,
      `/v1/event/list?name=deploy&index=${woken.headers.get("x-consul-index")}&wait=200ms`,
    );
    assert.equal(timedOut.headers.get("x-consul-index"), woken.headers.get("x-consul-index"));
  });

  it("bad events are 400s; fire is PUT only", async (t) => {
    const { master } = await startConsulMaster(t);
    const fire = (path: string) => send(master.url, path, { method: "PUT" });
    assert.equal(
      consulError(await fire("/v1/event/fire/x?tag=v1"), 400),
      "Cannot provide tag filter without service filter",
    );
    assert.match(consulError(await fire("/v1/event/fire/x?node=("), 400), /^Invalid node filter: /);
    assert.equal(consulError(await fire("/v1/event/fire/"), 400), "Missing name");
    const tooBig = await send(master.url, "/v1/event/fire/x", { method: "PUT", body: "x".repeat(10 * 1024) });
    assert.match(consulError(tooBig, 400), /exceeds the limit/);
    assert.equal((await send(master.url, "/v1/event/fire/x")).status, 405);
    assert.deepEqual((await send(master.url, "/v1/event/list")).json(), []);
    // Names starting with "_" are Consul's by convention, not refused.
    assert.equal((await fire("/v1/event/fire/_internal")).status, 200);
  });

  it("with ACLs on, firing needs event write and the list shows only readable events", async (t) => {
    const { master } = await startConsulMaster(t, { consulAcl: true, consulAclMasterToken: MASTER_TOKEN });
    const admin = consulClient(master, MASTER_TOKEN);
    t.after(() => admin.destroy());
    await admin.event.fire("deploy", "x");
    await admin.event.fire("secret", "y");
    const token = await clientToken(admin, 'event "deploy" { policy = "write" }');
    const deployer = consulClient(master, token);
    t.after(() => deployer.destroy());
    await deployer.event.fire("deploy", "z");
    assert.deepEqual(await consulFailure(deployer.event.fire("secret", "z")), {
      status: 403,
      body: "Permission denied",
    });
    const visible = (await deployer.event.list()) as EventJson[];
    assert.deepEqual(
      visible.map((e) => e.Name),
      ["deploy", "deploy"],
    );
  });
});
