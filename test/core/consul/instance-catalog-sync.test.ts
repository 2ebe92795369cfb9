import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CatalogService } from "../../../src/core/consul/catalog-service.ts";
import { BERTH_INSTANCE_META, InstanceCatalogSync } from "../../../src/core/consul/instance-catalog-sync.ts";
import { DEFAULT_GRID } from "../../../src/core/grids/grid-service.ts";
import { startConsulMaster } from "../../support/consul-master.ts";
import { send, sendJson } from "../../support/http-client.ts";
import { actualInstance, agentHello, desiredInstance, nodeCore, nodeFacts } from "../../support/node-fixtures.ts";

type CatalogEntry = {
  Node: string;
  Address: string;
  Datacenter: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  ServiceAddress: string;
  ServicePort: number;
  ServiceMeta: Record<string, string>;
  ModifyIndex: number;
};
type HealthEntry = {
  Node: { Node: string; Address: string };
  Service: { ID: string; Service: string; Port: number };
  Checks: { CheckID: string; Status: string; Output: string; ServiceID: string }[];
};

/** Polls until `ready` holds for what `read` returns. */
async function until<T>(read: () => Promise<T>, ready: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await read();
    if (ready(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)}`);
    await sleep(20);
  }
}

describe("instance catalog sync", () => {
  it("registers running instances in the Consul catalog with node address, first port, tags and mirrored health; deregisters them when they stop or are no longer desired", async (t) => {
    const { master } = await startConsulMaster(t);
    const { nodeLinks, nodeInstances, grids } = master.core;
    const grid = await grids.get(DEFAULT_GRID);
    const facts = nodeFacts({ node_id: "ENGINE:CAT", private_ip: "10.1.2.3", public_ip: "203.0.113.9" });
    await nodeLinks.join(grid, agentHello("cat-node", { facts }));
    // Someone else's service on the same node name, registered through the Consul API: never touched.
    const other = await sendJson(master.url, "/v1/catalog/register", "PUT", {
      Node: "cat-node",
      Address: "10.1.2.3",
      Service: { ID: "redis1", Service: "redis", Port: 6379 },
    });
    assert.equal(other.status, 200, other.text);

    await nodeInstances.setDesired(DEFAULT_GRID, "cat-node", [
      desiredInstance(1, {
        ports: [{ container_port: 80, node_port: 8080 }],
        health_check: { protocol: "http", port: 80 },
      }),
      desiredInstance(2),
    ]);
    const catalog = async () =>
      ((await send(master.url, "/v1/catalog/service/web")).json() as CatalogEntry[]).sort((a, b) =>
        a.ServiceID.localeCompare(b.ServiceID),
      );
    const health = async () => (await send(master.url, "/v1/health/service/web")).json() as HealthEntry[];
    await sleep(200);
    assert.deepEqual(await catalog(), [], "desired but not running yet: not in the catalog");

    // The agent reports instance 1 running, its health check not yet run.
    await nodeInstances.recordActual(DEFAULT_GRID, "cat-node", [actualInstance(1, { health: "starting" })], false);
    const [entry] = await until(catalog, (entries) => entries.length === 1, "instance 1 registered");
    assert.ok(entry);
    assert.equal(entry.Node, "cat-node");
    assert.equal(entry.Address, "10.1.2.3");
    assert.equal(entry.Datacenter, DEFAULT_GRID);
    assert.equal(entry.ServiceID, "shop.web-1");
    assert.equal(entry.ServiceName, "web");
    assert.equal(entry.ServiceAddress, "10.1.2.3");
    assert.equal(entry.ServicePort, 8080);
    assert.deepEqual(entry.ServiceTags, ["stack:shop", `grid:${DEFAULT_GRID}`]);
    assert.equal(entry.ServiceMeta[BERTH_INSTANCE_META], `${DEFAULT_GRID}/shop/web/1`);
    const checkOf = async () => (await health())[0]?.Checks.find((check) => check.CheckID === "service:shop.web-1");
    assert.equal((await checkOf())?.Status, "warning", "starting is a warning");

    // Health follows the agent's reports.
    await nodeInstances.recordActual(
      DEFAULT_GRID,
      "cat-node",
      [actualInstance(1, { health: "passing", health_output: "HTTP GET /: 200 OK" })],
      false,
    );
    const passing = await until(checkOf, (check) => check?.Status === "passing", "check passing");
    assert.equal(passing?.Output, "HTTP GET /: 200 OK");
    assert.equal(passing?.ServiceID, "shop.web-1");
    await nodeInstances.recordActual(DEFAULT_GRID, "cat-node", [actualInstance(1, { health: "critical" })], false);
    await until(checkOf, (check) => check?.Status === "critical", "check critical");
    assert.deepEqual((await send(master.url, "/v1/health/service/web?passing")).json(), []);

    // An unchanged report rewrites nothing.
    const before = (await catalog())[0]?.ModifyIndex;
    const healthIndex = (await send(master.url, "/v1/health/service/web")).headers.get("x-consul-index");
    await nodeInstances.recordActual(DEFAULT_GRID, "cat-node", [actualInstance(1, { health: "critical" })], false);
    await sleep(200);
    assert.equal((await catalog())[0]?.ModifyIndex, before);
    assert.equal((await send(master.url, "/v1/health/service/web")).headers.get("x-consul-index"), healthIndex);

    // Instance 2: no ports, no health check → port 0, passing while running.
    await nodeInstances.recordActual(DEFAULT_GRID, "cat-node", [actualInstance(2)], false);
    const both = await until(catalog, (entries) => entries.length === 2, "instance 2 registered");
    assert.equal(both[1]?.ServicePort, 0);
    const check2 = (await health()).flatMap((h) => h.Checks).find((check) => check.CheckID === "service:shop.web-2");
    assert.equal(check2?.Status, "passing");

    // Instance 2 exits: gone from the catalog.
    await nodeInstances.recordActual(DEFAULT_GRID, "cat-node", [actualInstance(2, { state: "exited" })], false);
    await until(catalog, (entries) => entries.length === 1, "exited instance deregistered");
    // Instance 1 no longer desired (still running until its agent removes it): gone too.
    await nodeInstances.setDesired(DEFAULT_GRID, "cat-node", [desiredInstance(2)]);
    await until(catalog, (entries) => entries.length === 0, "undesired instance deregistered");
    assert.deepEqual(
      (await send(master.url, "/v1/health/checks/web")).json(),
      [],
      "the instance's checks went with it",
    );

    // The Consul API's registration on the same node is still there.
    const redis = (await send(master.url, "/v1/catalog/service/redis")).json() as CatalogEntry[];
    assert.deepEqual(
      redis.map((e) => [e.Node, e.ServiceID]),
      [["cat-node", "redis1"]],
    );
  });

  it("removes a removed node's instances and its catalog node", async (t) => {
    const { master } = await startConsulMaster(t);
    const { nodeLinks, nodeInstances, grids } = master.core;
    const grid = await grids.get(DEFAULT_GRID);
    await nodeLinks.join(grid, agentHello("short-lived", { facts: nodeFacts({ private_ip: "10.9.9.9" }) }));
    await nodeInstances.setDesired(DEFAULT_GRID, "short-lived", [desiredInstance(1)]);
    await nodeInstances.recordActual(DEFAULT_GRID, "short-lived", [actualInstance(1)], false);
    const node = async () => send(master.url, "/v1/catalog/node/short-lived");
    const registered = await until(
      node,
      (response) => response.status === 200 && response.text !== "null",
      "node registered",
    );
    assert.equal((registered.json() as { Node: { Address: string } }).Node.Address, "10.9.9.9");

    const removed = await send(master.url, "/v1/nodes/default/short-lived", { method: "DELETE", headers: master.auth });
    assert.ok(removed.status < 300, removed.text);
    await until(node, (response) => response.text === "null" || response.status === 404, "node deregistered");
    assert.deepEqual((await send(master.url, "/v1/catalog/service/web")).json(), []);
  });

  it("on start, registers what runs and removes its own entries that no longer do, leaving others' alone", async (t) => {
    const { store, grid, nodeLinks, nodeInstances } = await nodeCore(t);
    const catalog = new CatalogService(store, { localNode: "master" });
    await nodeLinks.join(grid, agentHello("n1", { facts: nodeFacts({ private_ip: "10.0.0.1" }) }));
    await nodeInstances.setDesired(DEFAULT_GRID, "n1", [desiredInstance(1)]);
    await nodeInstances.recordActual(DEFAULT_GRID, "n1", [actualInstance(1)], false);
    // Left over from before the master stopped: instance 2 was ours and is gone since.
    const stale = { id: "shop.web-2", name: "web", tags: [], address: "", port: 0, enableTagOverride: false };
    await catalog.register(DEFAULT_GRID, {
      node: "n1",
      address: "10.0.0.1",
      service: { ...stale, meta: { [BERTH_INSTANCE_META]: `${DEFAULT_GRID}/shop/web/2` } },
    });
    await catalog.register(DEFAULT_GRID, {
      node: "n1",
      address: "10.0.0.1",
      service: { ...stale, id: "shop.web-3", meta: {} },
    });

    const sync = new InstanceCatalogSync(store, catalog, { list: async () => [DEFAULT_GRID] });
    await sync.start();
    t.after(() => sync.stop());
    await sync.idle();
    const ids = (await catalog.serviceNodes(DEFAULT_GRID, "web")).value.map((entry) => entry.service.id).sort();
    assert.deepEqual(ids, ["shop.web-1", "shop.web-3"]);
  });
});
