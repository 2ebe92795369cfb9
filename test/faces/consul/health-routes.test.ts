import assert from "node:assert/strict";
import { hostname } from "node:os";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { looseCheck, startConsulMaster } from "../../support/consul-master.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send, sendJson } from "../../support/http-client.ts";
import type { TestMaster } from "../../support/test-master.ts";

const consulError = errorShapeOf("consul");

interface CheckJson {
  Node: string;
  CheckID: string;
  Status: string;
  ServiceID: string;
  ServiceName: string;
}

interface HealthEntry {
  Node: { Node: string; Address: string };
  Service: { ID: string; Service: string; Tags: string[] | null; Port: number };
  Checks: CheckJson[];
}

/** Two redis instances: on n1 passing, on n2 with a warning service check; n2 also has a node check. */
async function seed(master: TestMaster): Promise<void> {
  const register = async (body: unknown) => {
    const response = await sendJson(master.url, "/v1/catalog/register", "PUT", body);
    assert.equal(response.status, 200, response.text);
  };
  for (const [node, status, tags] of [
    ["n1", "passing", ["primary"]],
    ["n2", "warning", ["replica"]],
  ] as const) {
    await register({
      Node: node,
      Address: `10.0.0.${node.slice(1)}`,
      NodeMeta: { zone: node === "n1" ? "a" : "b" },
      Service: { ID: "redis", Service: "redis", Tags: tags, Port: 6379 },
      Check: { CheckID: "service:redis", Name: "redis", Status: status, ServiceID: "redis", Output: "PONG" },
    });
  }
  await register({ Node: "n2", SkipNodeUpdate: true, Check: { CheckID: "mem", Name: "memory", Status: "passing" } });
}

describe("Consul health endpoints", () => {
  it("health/service gives each instance with its node and checks; ?passing, ?tag and ?node-meta filter", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    await seed(master);
    const response = await send(master.url, "/v1/health/service/redis");
    assert.ok(Number(response.headers.get("x-consul-index")) > 1);
    const entries = response.json() as HealthEntry[];
    assert.deepEqual(
      entries.map((entry) => [entry.Node.Node, entry.Service.ID, entry.Checks.map((c) => `${c.CheckID}:${c.Status}`)]),
      [
        ["n1", "redis", ["service:redis:passing"]],
        ["n2", "redis", ["service:redis:warning", "mem:passing"]],
      ],
    );
    const nodesOf = async (query: string) =>
      ((await send(master.url, `/v1/health/service/redis${query}`)).json() as HealthEntry[]).map((e) => e.Node.Node);
    assert.deepEqual(await nodesOf("?passing"), ["n1"]);
    assert.deepEqual(await nodesOf("?passing=1"), ["n1"]);
    assert.deepEqual(await nodesOf("?passing=false"), ["n1", "n2"]);
    assert.deepEqual(await nodesOf("?tag=replica"), ["n2"]);
    assert.deepEqual(await nodesOf("?node-meta=zone:a"), ["n1"]);
    assert.equal(
      consulError(await send(master.url, "/v1/health/service/redis?passing=maybe"), 400),
      "Invalid value for ?passing",
    );

    const viaClient = (await consul.health.service({ service: "redis", passing: true })) as HealthEntry[];
    assert.deepEqual(
      viaClient.map((entry) => entry.Node.Node),
      ["n1"],
    );
  });

  it("health/node, health/checks and health/state list checks as the spec shows them", async (t) => {
    const { master } = await startConsulMaster(t);
    await seed(master);
    const ids = async (path: string) =>
      ((await send(master.url, path)).json() as CheckJson[]).map((check) => `${check.Node}/${check.CheckID}`);

    assert.deepEqual(await ids("/v1/health/node/n2"), ["n2/mem", "n2/service:redis"]);
    assert.deepEqual(await ids("/v1/health/checks/redis"), ["n1/service:redis", "n2/service:redis"]);
    assert.deepEqual(await ids("/v1/health/checks/redis?node-meta=zone:b"), ["n2/service:redis"]);
    assert.deepEqual(await ids("/v1/health/state/warning"), ["n2/service:redis"]);
    assert.deepEqual(
      await ids("/v1/health/state/passing"),
      [`${hostname()}/serfHealth`, "n1/service:redis", "n2/mem"].sort(),
    );
    assert.equal((await ids("/v1/health/state/any")).length, 4);
    assert.deepEqual(await ids("/v1/health/state/critical"), []);

    const [check] = (await send(master.url, "/v1/health/node/n1")).json() as Record<string, unknown>[];
    const { CreateIndex, ModifyIndex, ...fields } = check as Record<string, unknown>;
    assert.ok(typeof CreateIndex === "number" && typeof ModifyIndex === "number");
    assert.deepEqual(fields, {
      Node: "n1",
      CheckID: "service:redis",
      Name: "redis",
      Status: "passing",
      Notes: "",
      Output: "PONG",
      ServiceID: "redis",
      ServiceName: "redis",
      Type: "",
    });
  });

  it("the unknown state (a catalog check not yet run) is a state like the others; others are 400s", async (t) => {
    const { master } = await startConsulMaster(t);
    await sendJson(master.url, "/v1/catalog/register", "PUT", {
      Node: "n1",
      Address: "10.0.0.1",
      Check: { Name: "fresh", Status: "unknown" },
    });
    const unknown = (await send(master.url, "/v1/health/state/unknown")).json() as CheckJson[];
    assert.deepEqual(
      unknown.map((check) => check.CheckID),
      ["fresh"],
    );
    assert.match(consulError(await send(master.url, "/v1/health/state/sick"), 400), /^Invalid check state "sick"/);
    assert.equal(consulError(await send(master.url, "/v1/health/state/"), 400), "Missing check state");
    assert.equal(consulError(await send(master.url, "/v1/health/node/"), 400), "Missing node name");
  });

  it("a blocking health query wakes when a check changes, and answers at the timeout otherwise", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    await consul.agent.service.register({ name: "api", check: looseCheck({ ttl: "30s" }) });
    const first = await send(master.url, "/v1/health/service/api?passing");
    assert.deepEqual(first.json(), [], "its check starts critical");
    const index = first.headers.get("x-consul-index");

    const timedOut = await send(master.url, `/v1/health/service/api?passing&index=${index}&wait=200ms`);
    assert.equal(timedOut.headers.get("x-consul-index"), index);

    const started = Date.now();
    const waiting = send(master.url, `/v1/health/service/api?passing&index=${index}&wait=30s`);
    await sleep(100);
    await consul.agent.check.pass("service:api");
    const woken = await waiting;
    assert.ok(Date.now() - started < 5000);
    assert.ok(Number(woken.headers.get("x-consul-index")) > Number(index));
    assert.deepEqual(
      (woken.json() as HealthEntry[]).map((entry) => entry.Service.Service),
      ["api"],
    );
  });

  it("consistency modes: ?stale and ?consistent are read modes, both at once is a 400", async (t) => {
    const { master } = await startConsulMaster(t);
    for (const mode of ["stale", "consistent"]) {
      const response = await send(master.url, `/v1/health/state/any?${mode}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("x-consul-knownleader"), "true");
      assert.ok(response.headers.get("x-consul-effective-consistency"));
    }
    const both = await send(master.url, "/v1/catalog/nodes?stale&consistent");
    assert.equal(both.status, 400);
  });
});
