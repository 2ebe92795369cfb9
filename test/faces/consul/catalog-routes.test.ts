import assert from "node:assert/strict";
import { hostname } from "node:os";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { clientToken, consulClient, consulFailure, startConsulMaster } from "../../support/consul-master.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send, sendJson } from "../../support/http-client.ts";

const consulError = errorShapeOf("consul");
const MASTER_TOKEN = "0f4e8a4c-2b7d-4a1e-9c3f-8d6b5a4e3c21";

/** The spec's registration example, on a node of our own. */
const redisOnFoobar = {
  Datacenter: "default",
  Node: "foobar",
  Address: "192.168.10.10",
  NodeMeta: { rack: "r1" },
  TaggedAddresses: { wan: "198.51.100.10" },
  Service: { ID: "redis1", Service: "redis", Tags: ["master", "v1"], Port: 8000, Meta: { role: "primary" } },
  Check: {
    Node: "foobar",
    CheckID: "service:redis1",
    Name: "Redis health check",
    Notes: "Script based health check",
    Status: "passing",
    ServiceID: "redis1",
  },
};

describe("Consul catalog endpoints", () => {
  it("register answers true, and nodes, services, service and node reflect the entry", async (t) => {
    const { master } = await startConsulMaster(t);
    const registered = await sendJson(master.url, "/v1/catalog/register", "PUT", redisOnFoobar);
    assert.equal(registered.status, 200, registered.text);
    assert.equal(registered.text, "true");

    const nodes = await send(master.url, "/v1/catalog/nodes");
    assert.deepEqual(
      (nodes.json() as { Node: string; Address: string }[]).map((node) => [node.Node, node.Address]),
      [
        ["foobar", "192.168.10.10"],
        [hostname(), "127.0.0.1"],
      ].sort(),
    );
    assert.ok(Number(nodes.headers.get("x-consul-index")) > 1);
    assert.equal(nodes.headers.get("x-consul-knownleader"), "true");
    assert.equal(nodes.headers.get("x-consul-lastcontact"), "0");

    assert.deepEqual((await send(master.url, "/v1/catalog/services")).json(), {
      consul: [],
      redis: ["master", "v1"],
    });

    const service = (await send(master.url, "/v1/catalog/service/redis")).json() as Record<string, unknown>[];
    const { CreateIndex, ModifyIndex, ...entry } = service[0] as Record<string, unknown>;
    assert.ok(typeof CreateIndex === "number" && CreateIndex === ModifyIndex);
    assert.deepEqual(entry, {
      Node: "foobar",
      Address: "192.168.10.10",
      Datacenter: "default",
      TaggedAddresses: { wan: "198.51.100.10" },
      NodeMeta: { rack: "r1" },
      ServiceID: "redis1",
      ServiceName: "redis",
      ServiceTags: ["master", "v1"],
      ServiceAddress: "",
      ServiceMeta: { role: "primary" },
      ServicePort: 8000,
      ServiceEnableTagOverride: false,
    });

    const node = (await send(master.url, "/v1/catalog/node/foobar")).json() as {
      Node: Record<string, unknown>;
      Services: Record<string, Record<string, unknown>>;
    };
    assert.equal(node.Node.Node, "foobar");
    assert.deepEqual(node.Node.Meta, { rack: "r1" });
    assert.deepEqual(Object.keys(node.Services), ["redis1"]);
    assert.equal(node.Services.redis1?.Service, "redis");

    const missing = await send(master.url, "/v1/catalog/node/nobody");
    assert.equal(missing.status, 200);
    assert.equal(missing.text, "null", "Consul answers an unknown node with null");
    assert.ok(Number(missing.headers.get("x-consul-index")) >= 1);
    assert.equal(missing.headers.get("x-consul-knownleader"), "true");
  });

  it("the npm client sees the same catalog", async (t) => {
    const { consul } = await startConsulMaster(t);
    await consul.catalog.register({
      node: "n1",
      address: "10.0.0.1",
      service: { service: "api", port: 80, tags: ["blue"] },
    });
    assert.deepEqual(await consul.catalog.datacenters(), ["default"]);
    const services = (await consul.catalog.service.nodes("api")) as { Node: string; ServiceID: string }[];
    assert.deepEqual(
      services.map((s) => [s.Node, s.ServiceID]),
      [["n1", "api"]],
      "the ID defaults to the service name",
    );
    const nodeServices = (await consul.catalog.node.services("n1")) as { Services: Record<string, unknown> };
    assert.deepEqual(Object.keys(nodeServices.Services), ["api"]);
    await consul.catalog.deregister({ node: "n1", serviceid: "api" });
    assert.deepEqual(await consul.catalog.service.nodes("api"), []);
  });

  it("filters: ?tag (repeatable, all must match), ?node-meta, ?near ignored", async (t) => {
    const { master } = await startConsulMaster(t);
    const register = (node: string, rack: string, tags: string[]) =>
      sendJson(master.url, "/v1/catalog/register", "PUT", {
        Node: node,
        Address: `10.0.0.${node.length}`,
        NodeMeta: { rack },
        Service: { Service: "web", Tags: tags },
      });
    await register("a", "r1", ["v1", "blue"]);
    await register("bb", "r2", ["v1"]);
    const nodesOf = async (query: string) =>
      ((await send(master.url, `/v1/catalog/service/web${query}`)).json() as { Node: string }[]).map((s) => s.Node);
    assert.deepEqual(await nodesOf(""), ["a", "bb"]);
    assert.deepEqual(await nodesOf("?tag=v1"), ["a", "bb"]);
    assert.deepEqual(await nodesOf("?tag=v1&tag=blue"), ["a"]);
    assert.deepEqual(await nodesOf("?tag=green"), []);
    assert.deepEqual(await nodesOf("?node-meta=rack:r2&near=_agent"), ["bb"]);
    const nodes = (await send(master.url, "/v1/catalog/nodes?node-meta=rack:r1")).json() as { Node: string }[];
    assert.deepEqual(
      nodes.map((node) => node.Node),
      ["a"],
    );
    assert.deepEqual((await send(master.url, "/v1/catalog/services?node-meta=rack:r2")).json(), { web: ["v1"] });
  });

  it("deregister removes a check, a service with its checks, or a whole node", async (t) => {
    const { master } = await startConsulMaster(t);
    await sendJson(master.url, "/v1/catalog/register", "PUT", redisOnFoobar);
    await sendJson(master.url, "/v1/catalog/register", "PUT", {
      Node: "foobar",
      Address: "192.168.10.10",
      Check: { Name: "disk", Status: "warning" },
    });
    const checkIds = async () =>
      ((await send(master.url, "/v1/health/node/foobar")).json() as { CheckID: string }[]).map((c) => c.CheckID);
    assert.deepEqual(await checkIds(), ["disk", "service:redis1"]);

    const gone = await sendJson(master.url, "/v1/catalog/deregister", "PUT", { Node: "foobar", CheckID: "disk" });
    assert.equal(gone.text, "true");
    assert.deepEqual(await checkIds(), ["service:redis1"]);
    await sendJson(master.url, "/v1/catalog/deregister", "PUT", { Node: "foobar", ServiceID: "redis1" });
    assert.deepEqual(await checkIds(), []);
    assert.deepEqual((await send(master.url, "/v1/catalog/service/redis")).json(), []);
    await sendJson(master.url, "/v1/catalog/deregister", "PUT", { Node: "foobar" });
    assert.equal((await send(master.url, "/v1/catalog/node/foobar")).text, "null");
    const again = await sendJson(master.url, "/v1/catalog/deregister", "PUT", { Node: "foobar" });
    assert.equal(again.status, 200, "deregistering what is not there is not an error");
  });

  it("deregistering a node ends its sessions", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    await sendJson(master.url, "/v1/catalog/register", "PUT", {
      Node: "n1",
      Address: "10.0.0.1",
      Check: { CheckID: "alive", Name: "alive", Status: "passing" },
    });
    const { ID: session } = (await consul.session.create({ node: "n1", checks: ["alive"] })) as { ID: string };
    assert.ok(await consul.session.info(session));
    await sendJson(master.url, "/v1/catalog/deregister", "PUT", { Node: "n1" });
    assert.equal(await consul.session.info(session), undefined);
  });

  it("a blocking query on a service wakes on a change, and times out with the same index", async (t) => {
    const { master } = await startConsulMaster(t);
    await sendJson(master.url, "/v1/catalog/register", "PUT", redisOnFoobar);
    const first = await send(master.url, "/v1/catalog/service/redis");
    const index = first.headers.get("x-consul-index");

    const started = Date.now();
    const timedOut = await send(master.url, `/v1/catalog/service/redis?index=${index}&wait=300ms`);
    assert.ok(Date.now() - started >= 280, "it waited");
    assert.equal(timedOut.headers.get("x-consul-index"), index);
    assert.deepEqual(timedOut.json(), first.json());

    const waiting = send(master.url, `/v1/catalog/service/redis?index=${index}&wait=10s`);
    await sleep(100);
    await sendJson(master.url, "/v1/catalog/register", "PUT", {
      ...redisOnFoobar,
      Service: { ...redisOnFoobar.Service, Port: 9000 },
    });
    const woken = await waiting;
    assert.ok(Number(woken.headers.get("x-consul-index")) > Number(index));
    assert.equal((woken.json() as { ServicePort: number }[])[0]?.ServicePort, 9000);
    assert.ok(Date.now() - started < 5000);
  });

  it("datacenters are the grids; an unknown ?dc= is Consul's 500 'No path to datacenter'", async (t) => {
    const { master } = await startConsulMaster(t);
    const listed = await send(master.url, "/v1/catalog/datacenters?stale");
    assert.deepEqual(listed.json(), ["default"]);
    assert.equal(listed.headers.get("x-consul-effective-consistency"), "stale");
    assert.ok(Number(listed.headers.get("x-consul-index")) >= 1);
    const created = await send(master.url, "/v1/grids", {
      method: "POST",
      headers: { ...master.auth, "content-type": "application/json" },
      body: JSON.stringify({ name: "west", initial_size: 1 }),
    });
    assert.ok(created.status < 300, created.text);
    assert.deepEqual((await send(master.url, "/v1/catalog/datacenters")).json(), ["default", "west"]);
    await sendJson(master.url, "/v1/catalog/register?dc=west", "PUT", { Node: "w1", Address: "10.1.0.1" });
    const west = (await send(master.url, "/v1/catalog/nodes?dc=west")).json() as { Node: string; Datacenter: string }[];
    assert.deepEqual(
      west.map((node) => [node.Node, node.Datacenter]),
      [["w1", "west"]],
    );

    for (const path of [
      "/v1/catalog/nodes?dc=nowhere",
      "/v1/health/service/web?dc=nowhere",
      "/v1/event/list?dc=nowhere",
    ]) {
      assert.equal(consulError(await send(master.url, path), 500), "No path to datacenter", path);
    }
    const register = await sendJson(master.url, "/v1/catalog/register", "PUT", {
      Datacenter: "nowhere",
      Node: "x",
      Address: "10.0.0.1",
    });
    assert.equal(consulError(register, 500), "No path to datacenter");
  });

  it("bad registrations are 400s and write nothing", async (t) => {
    const { master } = await startConsulMaster(t);
    const before = (await send(master.url, "/v1/catalog/nodes")).headers.get("x-consul-index");
    const cases: [unknown, RegExp][] = [
      [{ Address: "10.0.0.1" }, /^Must provide node$/],
      [{ Node: "n" }, /^Must provide address$/],
      [{ Node: "n", Address: "a", Service: { Port: 1 } }, /^Must provide service name$/],
      [{ Node: "n", Address: "a", Service: { Service: "s", Port: -1 } }, /^Request decode failed: Service.Port: /],
      [{ Node: "n", Address: "a", Check: { Name: "c", Status: "sick" } }, /^Invalid check status "sick"/],
      [{ Node: "n", Address: "a", Check: { Name: "c", ServiceID: "ghost" } }, /^Missing service registration/],
      [{ Node: "n", Address: "a", Check: { Node: "other", Name: "c" } }, /does not match node/],
      [{ Node: "n", Address: "a", NodeMeta: { "consul-x": "1" } }, /^Invalid Node Meta: .*reserved/],
      [{ Node: 7, Address: "a" }, /^Request decode failed: Node: /],
    ];
    for (const [body, message] of cases) {
      assert.match(
        consulError(await sendJson(master.url, "/v1/catalog/register", "PUT", body), 400),
        message,
        JSON.stringify(body),
      );
    }
    const malformed = await send(master.url, "/v1/catalog/register", { method: "PUT", body: '{"Node":' });
    assert.match(consulError(malformed, 400), /^Request decode failed: /);
    assert.match(
      consulError(await sendJson(master.url, "/v1/catalog/deregister", "PUT", {}), 400),
      /^Must provide node$/,
    );
    assert.equal(consulError(await send(master.url, "/v1/catalog/service/"), 400), "Missing service name");
    assert.equal((await send(master.url, "/v1/catalog/nodes")).headers.get("x-consul-index"), before);
  });

  it("with ACLs on, reads drop the services a token may not read and writes need service write", async (t) => {
    const { master } = await startConsulMaster(t, { consulAcl: true, consulAclMasterToken: MASTER_TOKEN });
    const admin = consulClient(master, MASTER_TOKEN);
    t.after(() => admin.destroy());
    await admin.catalog.register({ node: "n1", address: "10.0.0.1", service: { service: "web" } });
    await admin.catalog.register({ node: "n1", address: "10.0.0.1", service: { service: "db" } });
    await admin.catalog.register({ node: "n2", address: "10.0.0.2" });
    const token = await clientToken(
      admin,
      'node "" { policy = "read" }\nservice "" { policy = "read" }\nservice "web" { policy = "write" }\nservice "db" { policy = "deny" }',
    );
    const webOnly = consulClient(master, token);
    t.after(() => webOnly.destroy());

    assert.deepEqual(Object.keys((await webOnly.catalog.service.list()) as object), ["consul", "web"]);
    assert.deepEqual(await webOnly.catalog.service.nodes("db"), []);
    const node = (await webOnly.catalog.node.services("n1")) as { Services: Record<string, unknown> };
    assert.deepEqual(Object.keys(node.Services), ["web"]);

    // Re-posting the node as it is takes no node write (Consul's ChangesNode); changing it does.
    await webOnly.catalog.register({ node: "n2", address: "10.0.0.2", service: { service: "web" } });
    const denied = await consulFailure(
      webOnly.catalog.register({ node: "n2", address: "10.0.0.2", service: { service: "db" } }),
    );
    assert.deepEqual(denied, { status: 403, body: "Permission denied" });
    for (const changed of [{ address: "10.0.0.3" }, { address: "10.0.0.2", nodemeta: { rack: "r2" } }]) {
      const moved = await consulFailure(
        webOnly.catalog.register({ node: "n2", ...changed, service: { service: "web" } }),
      );
      assert.equal(moved.status, 403, `changing the node (${JSON.stringify(changed)}) takes node write`);
    }
    const newNode = await consulFailure(
      webOnly.catalog.register({ node: "n3", address: "10.0.0.3", service: { service: "web" } }),
    );
    assert.equal(newNode.status, 403, "creating a node takes node write");
    // Replacing a service under its ID takes write on the service it replaces too.
    const replaced = await sendJson(
      master.url,
      "/v1/catalog/register",
      "PUT",
      {
        Node: "n1",
        Address: "10.0.0.1",
        Service: { ID: "db", Service: "web" },
      },
      { "x-consul-token": token },
    );
    assert.equal(consulError(replaced, 403), "Permission denied");
    const nodeDeregister = await consulFailure(webOnly.catalog.deregister({ node: "n2" }));
    assert.equal(nodeDeregister.status, 403, "removing a whole node takes a management token");
    const anonymous = await send(master.url, "/v1/catalog/services");
    assert.deepEqual(anonymous.json(), {}, "the anonymous token reads nothing under default deny");
  });
});
