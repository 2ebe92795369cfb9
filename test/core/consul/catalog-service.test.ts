import assert from "node:assert/strict";
import { test } from "node:test";
import type { ServiceInstance } from "../../../src/core/consul/catalog-record.ts";
import {
  type CatalogRegistration,
  CatalogService,
  type SessionInvalidation,
} from "../../../src/core/consul/catalog-service.ts";
import { BadRequestError } from "../../../src/core/errors/bad-request-error.ts";
import { openTestStore } from "../../support/test-store.ts";

const DC = "default";

/** Records what the catalog tells the session service. */
function recordingSessions(): SessionInvalidation & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    invalidateForCheck: async (dc, node, checkId) => void calls.push(`check ${dc}/${node}/${checkId}`),
    invalidateForNode: async (dc, node) => void calls.push(`node ${dc}/${node}`),
  };
}

async function catalogOn(t: Parameters<typeof openTestStore>[0]) {
  const store = await openTestStore(t);
  const sessions = recordingSessions();
  return { store, sessions, catalog: new CatalogService(store, { localNode: "master", sessions }) };
}

function service(id: string, name: string, extra: Partial<ServiceInstance> = {}): CatalogRegistration["service"] {
  return { id, name, tags: null, address: "", port: 8000, meta: {}, enableTagOverride: false, ...extra };
}

function web(node: string, address: string, tags: string[] | null, status?: "passing" | "critical") {
  return {
    node,
    address,
    nodeMeta: { rack: node === "n1" ? "a" : "b" },
    service: service("web", "web", { tags }),
    checks: [
      {
        id: "service:web",
        name: "web check",
        notes: "",
        serviceId: "web",
        definition: null,
        ...(status ? { status } : {}),
      },
    ],
  } satisfies CatalogRegistration;
}

test("a registration shows up in every read, with the indexes of its records", async (t) => {
  const { store, catalog } = await catalogOn(t);
  await catalog.register(DC, web("n1", "10.0.0.1", ["v1", "primary"], "passing"));
  await catalog.register(DC, web("n2", "10.0.0.2", ["v1"]));

  const nodes = await catalog.nodes(DC);
  assert.deepEqual(
    nodes.value.map((node) => [node.name, node.address]),
    [
      ["n1", "10.0.0.1"],
      ["n2", "10.0.0.2"],
    ],
  );
  assert.equal(nodes.index, store.lastChange("/consul/default/catalog/nodes/"));

  const services = await catalog.services(DC);
  assert.deepEqual([...services.value], [["web", ["primary", "v1"]]]);

  const instances = await catalog.serviceNodes(DC, "web");
  assert.deepEqual(
    instances.value.map(({ node, service }) => [node.name, service.id, service.tags]),
    [
      ["n1", "web", ["v1", "primary"]],
      ["n2", "web", ["v1"]],
    ],
  );
  const first = instances.value[0]!.service;
  assert.ok(first.createIndex > 0 && first.modifyIndex === first.createIndex);

  const health = await catalog.serviceHealth(DC, "web");
  assert.deepEqual(
    health.value.map((entry) => entry.checks.map((check) => [check.id, check.status, check.serviceName])),
    [[["service:web", "passing", "web"]], [["service:web", "critical", "web"]]],
    "a check registered without a status starts critical",
  );
  assert.equal(health.index, store.currentRevision());
});

test("registering the same state again writes nothing (the index stays)", async (t) => {
  const { store, catalog } = await catalogOn(t);
  await catalog.register(DC, web("n1", "10.0.0.1", ["v1"], "passing"));
  const revision = store.currentRevision();
  await catalog.register(DC, web("n1", "10.0.0.1", ["v1"], "passing"));
  assert.equal(store.currentRevision(), revision);
  await catalog.register(DC, web("n1", "10.0.0.9", ["v1"], "passing"));
  assert.equal(store.currentRevision(), revision + 1, "one changed record, one revision");
});

test("a check of a service the node does not have is refused and nothing is written", async (t) => {
  const { store, catalog } = await catalogOn(t);
  const revision = store.currentRevision();
  await assert.rejects(
    catalog.register(DC, {
      node: "n1",
      address: "10.0.0.1",
      checks: [{ id: "c", name: "c", notes: "", serviceId: "ghost", definition: null }],
    }),
    (error) => error instanceof BadRequestError && /Missing service registration/.test(error.message),
  );
  assert.equal(store.currentRevision(), revision);
  await assert.rejects(catalog.register(DC, { node: "n1" }), /Must provide address/);
});

test("filters: tags (all of them, any case), node meta, passing only", async (t) => {
  const { catalog } = await catalogOn(t);
  await catalog.register(DC, web("n1", "10.0.0.1", ["v1", "Primary"], "passing"));
  await catalog.register(DC, web("n2", "10.0.0.2", ["v1"], "passing"));
  const names = (entries: { node: { name: string } }[]) => entries.map((entry) => entry.node.name);

  assert.deepEqual(names((await catalog.serviceNodes(DC, "web", { tags: ["primary", "V1"] })).value), ["n1"]);
  assert.deepEqual(names((await catalog.serviceNodes(DC, "web", { nodeMeta: { rack: "b" } })).value), ["n2"]);
  assert.deepEqual((await catalog.nodes(DC, { nodeMeta: { rack: "a" } })).value.length, 1);

  await catalog.updateCheck(DC, "n2", "service:web", { status: "warning", output: "slow" });
  assert.deepEqual(names((await catalog.serviceHealth(DC, "web", { passingOnly: true })).value), ["n1"]);
  // A failing node-level check takes every instance of the node out of the passing set.
  await catalog.register(DC, {
    node: "n1",
    skipNodeUpdate: true,
    checks: [{ id: "disk", name: "disk", status: "critical", notes: "", serviceId: "", definition: null }],
  });
  assert.deepEqual(names((await catalog.serviceHealth(DC, "web", { passingOnly: true })).value), []);
  const n1 = (await catalog.serviceHealth(DC, "web")).value[0]!;
  assert.deepEqual(
    n1.checks.map((check) => check.id),
    ["service:web", "disk"],
    "the instance's own checks first, then the node's",
  );
});

test("checks by state, including unknown; checks by node and service", async (t) => {
  const { catalog } = await catalogOn(t);
  await catalog.register(DC, web("n1", "10.0.0.1", null, "passing"));
  await catalog.register(DC, {
    node: "n2",
    address: "10.0.0.2",
    checks: [{ id: "new", name: "new", status: "unknown", notes: "", serviceId: "", definition: null }],
  });
  assert.deepEqual(
    (await catalog.checksInState(DC, "unknown")).value.map((check) => check.id),
    ["new"],
  );
  assert.equal((await catalog.checksInState(DC, "any")).value.length, 2);
  assert.equal((await catalog.nodeChecks(DC, "n1")).value.length, 1);
  assert.deepEqual(
    (await catalog.serviceChecks(DC, "web")).value.map((check) => check.node),
    ["n1"],
  );
  assert.equal(await catalog.checkStatus(DC, "n2", "new"), "warning", "sessions see unknown as not critical");
  assert.equal(await catalog.checkStatus(DC, "n2", "nope"), undefined);
  assert.equal(await catalog.nodeExists(DC, "n2"), true);
  assert.equal(await catalog.nodeExists(DC, "n3"), false);
});

test("a check going critical, or away, ends the sessions linked to it; a removed node ends its sessions", async (t) => {
  const { catalog, sessions } = await catalogOn(t);
  await catalog.register(DC, web("n1", "10.0.0.1", null, "passing"));
  assert.deepEqual(sessions.calls, []);

  assert.equal(await catalog.updateCheck(DC, "n1", "service:web", { status: "critical", output: "down" }), "updated");
  assert.deepEqual(sessions.calls, ["check default/n1/service:web"]);
  assert.equal(await catalog.updateCheck(DC, "n1", "service:web", { status: "critical", output: "down" }), "unchanged");
  assert.equal(await catalog.updateCheck(DC, "n1", "ghost", { status: "passing", output: "" }), "missing");

  await catalog.deregister(DC, { node: "n1", serviceId: "web" });
  assert.deepEqual(sessions.calls.at(-1), "check default/n1/service:web");
  assert.deepEqual((await catalog.serviceChecks(DC, "web")).value, [], "the service's checks went with it");

  await catalog.deregister(DC, { node: "n1" });
  assert.deepEqual(sessions.calls.at(-1), "node default/n1");
  assert.deepEqual((await catalog.nodes(DC)).value, []);
  assert.equal((await catalog.nodeServices(DC, "n1")).value, null);
});

test("a status update guarded by a definition is refused once the check was redefined", async (t) => {
  const { catalog } = await catalogOn(t);
  const ttl = { kind: "ttl", ttlMs: 1000 } as const;
  await catalog.register(DC, {
    node: "n1",
    address: "10.0.0.1",
    checks: [{ id: "c", name: "c", notes: "", serviceId: "", definition: ttl }],
  });
  assert.equal(await catalog.updateCheck(DC, "n1", "c", { status: "passing", output: "" }, ttl), "updated");
  const other = { kind: "ttl", ttlMs: 2000 } as const;
  assert.equal(await catalog.updateCheck(DC, "n1", "c", { status: "warning", output: "" }, other), "redefined");
});

test("replaceServiceChecks drops the service's checks the registration no longer names", async (t) => {
  const { catalog, sessions } = await catalogOn(t);
  const check = (id: string) => ({
    id,
    name: id,
    notes: "",
    serviceId: "web",
    definition: null,
    status: "passing" as const,
  });
  await catalog.register(DC, {
    node: "n1",
    address: "10.0.0.1",
    service: service("web", "web"),
    checks: [check("a"), check("b")],
  });
  await catalog.register(DC, {
    node: "n1",
    address: "10.0.0.1",
    service: service("web", "web"),
    checks: [check("b")],
    replaceServiceChecks: true,
  });
  assert.deepEqual(
    (await catalog.nodeChecks(DC, "n1")).value.map((c) => c.id),
    ["b"],
  );
  assert.deepEqual(sessions.calls, ["check default/n1/a"]);
});

test("datacenters are separate catalogs", async (t) => {
  const { catalog } = await catalogOn(t);
  await catalog.register("other", web("n1", "10.0.0.1", null));
  assert.deepEqual((await catalog.nodes(DC)).value, []);
  assert.equal((await catalog.nodes("other")).value.length, 1);
  assert.notEqual(catalog.watchPrefix("other"), catalog.watchPrefix(DC));
});

test("a concurrent writer on the same node does not lose an update", async (t) => {
  const { catalog } = await catalogOn(t);
  await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      catalog.register(DC, { node: "n1", address: "10.0.0.1", service: service(`s${i}`, `s${i}`) }),
    ),
  );
  assert.equal((await catalog.nodeServices(DC, "n1")).value?.services.length, 8);
});
