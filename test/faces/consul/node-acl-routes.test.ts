import assert from "node:assert/strict";
import { hostname } from "node:os";
import { describe, it, type TestContext } from "node:test";
import { startConsulAclMaster } from "../../support/consul-master.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";

const consulError = errorShapeOf("consul");
const MASTER_TOKEN = "5e2d7c1a-9b4f-4e3d-8a6c-2f1b0e9d8c7a";

/**
 * A master with ACLs on under default deny, and a catalog of two nodes: web-1 (service web, a
 * node-level check "disk" and web's own check) and db-1 (service db and a node-level check).
 */
async function start(t: TestContext) {
  const acl = await startConsulAclMaster(t, MASTER_TOKEN);
  for (const [node, service] of [
    ["web-1", "web"],
    ["db-1", "db"],
  ] as const) {
    const registration = {
      Node: node,
      Address: "10.0.0.1",
      Service: { Service: service },
      Checks: [
        { CheckID: "disk", Name: "disk", Status: "passing" },
        { CheckID: `service:${service}`, Name: service, Status: "passing", ServiceID: service },
      ],
    };
    const registered = await acl.put("/v1/catalog/register", registration, MASTER_TOKEN);
    assert.equal(registered.status, 200, registered.text);
  }
  return acl;
}

const names = (entries: unknown, field: string) =>
  (entries as Record<string, unknown>[]).map((entry) => String(entry[field]));

describe("Consul node ACL rules on the catalog, health and agent endpoints", () => {
  it("under default deny, the anonymous token sees no node and the agent refuses it", async (t) => {
    const { get } = await start(t);
    assert.deepEqual((await get("/v1/catalog/nodes")).json(), []);
    assert.equal((await get("/v1/catalog/node/web-1")).text, "null");
    assert.deepEqual((await get("/v1/health/node/web-1")).json(), []);
    assert.deepEqual((await get("/v1/health/state/any")).json(), []);
    assert.deepEqual((await get("/v1/agent/members")).json(), []);
    assert.equal(consulError(await get("/v1/agent/self"), 403), "Permission denied");
  });

  it("node reads follow node read on the node's name, lists filtered silently; service rules grant no node", async (t) => {
    const { get, token } = await start(t);
    const webNodes = await token('node "web-" { policy = "read" }');
    assert.deepEqual(names((await get("/v1/catalog/nodes", webNodes)).json(), "Node"), ["web-1"]);
    assert.equal((await get("/v1/catalog/node/db-1", webNodes)).text, "null");
    const node = (await get("/v1/catalog/node/web-1", webNodes)).json() as { Node: { Node: string }; Services: object };
    assert.equal(node.Node.Node, "web-1");
    assert.deepEqual(node.Services, {}, "its services still need service read");
    assert.deepEqual(names((await get("/v1/health/node/web-1", webNodes)).json(), "CheckID"), ["disk"]);
    assert.deepEqual((await get("/v1/health/node/db-1", webNodes)).json(), []);
    assert.deepEqual((await get("/v1/agent/members", webNodes)).json(), []);

    const services = await token('service "" { policy = "read" }');
    assert.deepEqual(
      (await get("/v1/catalog/nodes", services)).json(),
      [],
      "the catch-all service rule no longer covers nodes",
    );
    assert.deepEqual((await get("/v1/health/node/web-1", services)).json(), []);

    const denyDb = await token(
      'node "" { policy = "read" }\nnode "db-" { policy = "deny" }\nservice "" { policy = "read" }',
    );
    assert.deepEqual(
      names((await get("/v1/catalog/nodes", denyDb)).json(), "Node").sort(),
      [hostname(), "web-1"].sort(),
    );
    assert.deepEqual(names((await get("/v1/health/node/web-1", denyDb)).json(), "CheckID"), ["disk", "service:web"]);
    assert.equal(((await get(`/v1/agent/members`, denyDb)).json() as unknown[]).length, 1);
  });

  it("service instances and their checks show only on nodes the token may read", async (t) => {
    const { get, put, token } = await start(t);
    await put("/v1/catalog/register", { Node: "db-2", Address: "10.0.0.2", Service: { Service: "web" } }, MASTER_TOKEN);
    const webOnWeb = await token('service "web" { policy = "read" }\nnode "web-" { policy = "read" }');
    assert.deepEqual(names((await get("/v1/catalog/service/web", webOnWeb)).json(), "Node"), ["web-1"]);
    const health = (await get("/v1/health/service/web", webOnWeb)).json() as {
      Node: { Node: string };
      Checks: unknown[];
    }[];
    assert.deepEqual(
      health.map((entry) => [entry.Node.Node, names(entry.Checks, "CheckID")]),
      [["web-1", ["service:web", "disk"]]],
    );
    assert.deepEqual(names((await get("/v1/health/checks/web", webOnWeb)).json(), "Node"), ["web-1"]);
    assert.deepEqual(
      names((await get("/v1/health/state/passing", webOnWeb)).json(), "CheckID"),
      ["disk", "service:web"],
      "web-1's node check and web's check; nothing of db-1 or the master's node",
    );
    const noNodes = await token('service "web" { policy = "read" }');
    assert.deepEqual((await get("/v1/catalog/service/web", noNodes)).json(), []);
    assert.deepEqual(Object.keys((await get("/v1/catalog/services", noNodes)).json() as object), ["web"]);
  });

  it("catalog writes to a node take node write on its name; a service's parts keep service write", async (t) => {
    const { get, put, token } = await start(t);
    const reader = await token('node "" { policy = "read" }');
    assert.equal(consulError(await put("/v1/catalog/deregister", { Node: "web-1" }, reader), 403), "Permission denied");
    const webWriter = await token('node "web-" { policy = "write" }');
    const nodeCheck = { Node: "web-1", Address: "10.0.0.1", Check: { CheckID: "mem", Name: "mem", Status: "passing" } };
    assert.equal((await put("/v1/catalog/register", nodeCheck, webWriter)).status, 200);
    const dbCheck = { ...nodeCheck, Node: "db-1", SkipNodeUpdate: true };
    assert.equal(consulError(await put("/v1/catalog/register", dbCheck, webWriter), 403), "Permission denied");
    const newNode = { Node: "web-2", Address: "10.0.0.2" };
    assert.equal((await put("/v1/catalog/register", newNode, webWriter)).status, 200);
    const serviceOnNode = { ...newNode, Service: { Service: "web" } };
    assert.equal(
      consulError(await put("/v1/catalog/register", serviceOnNode, webWriter), 403),
      "Permission denied",
      "node write is not service write",
    );
    const deregisterCheck = { Node: "web-1", CheckID: "service:web" };
    assert.equal(
      consulError(await put("/v1/catalog/deregister", deregisterCheck, webWriter), 403),
      "Permission denied",
    );
    assert.equal((await put("/v1/catalog/deregister", { Node: "web-1", CheckID: "disk" }, webWriter)).status, 200);
    assert.equal(
      consulError(await put("/v1/catalog/deregister", { Node: "db-1" }, webWriter), 403),
      "Permission denied",
    );
    assert.equal((await put("/v1/catalog/deregister", { Node: "web-1" }, webWriter)).status, 200);
    assert.equal((await get("/v1/catalog/node/web-1", MASTER_TOKEN)).text, "null");
  });

  it("the agent: self takes agent read, join and force-leave agent write, its node-level checks node write", async (t) => {
    const { get, put, token } = await start(t);
    const node = hostname();
    const agentReader = await token(`agent "${node}" { policy = "read" }`);
    assert.equal((await get("/v1/agent/self", agentReader)).status, 200);
    assert.equal(consulError(await put("/v1/agent/join/10.0.0.9", undefined, agentReader), 403), "Permission denied");
    assert.equal(consulError(await put("/v1/agent/force-leave/x", undefined, agentReader), 403), "Permission denied");
    const agentWriter = await token('agent "" { policy = "write" }');
    assert.equal((await put("/v1/agent/join/10.0.0.9", undefined, agentWriter)).status, 200);
    assert.equal((await put("/v1/agent/force-leave/x", undefined, agentWriter)).status, 200);
    const nodeReader = await token(`node "${node}" { policy = "read" }`);
    assert.equal(consulError(await get("/v1/agent/self", nodeReader), 403), "Permission denied");

    const check = { ID: "mem", Name: "mem", TTL: "1h" };
    assert.equal(consulError(await put("/v1/agent/check/register", check, nodeReader), 403), "Permission denied");
    const nodeWriter = await token(`node "${node}" { policy = "write" }`);
    assert.equal((await put("/v1/agent/check/register", check, nodeWriter)).status, 200);
    assert.equal((await put("/v1/agent/check/pass/mem", undefined, nodeWriter)).status, 200);
    assert.equal(consulError(await put("/v1/agent/check/pass/mem", undefined, nodeReader), 403), "Permission denied");
    await put("/v1/agent/service/register", { Name: "api", Check: { TTL: "1h" } }, MASTER_TOKEN);
    assert.deepEqual(Object.keys((await get("/v1/agent/checks", nodeReader)).json() as object), ["mem"]);
    const apiReader = await token('service "api" { policy = "read" }');
    assert.deepEqual(
      Object.keys((await get("/v1/agent/checks", apiReader)).json() as object),
      ["service:api"],
      "the agent shows a service's checks by the service's rule alone",
    );
    assert.equal(
      consulError(await put("/v1/agent/check/pass/service:api", undefined, nodeWriter), 403),
      "Permission denied",
    );
  });
});
