import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ForbiddenError } from "../../../src/core/errors/forbidden-error.ts";
import { NotFoundError } from "../../../src/core/errors/not-found-error.ts";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import { newGridSchema } from "../../../src/core/grids/grid-record.ts";
import { actualInstance, agentHello, desiredInstance, nodeCore, nodeFacts } from "../../support/node-fixtures.ts";
import { makePrincipal } from "../../support/test-principals.ts";

describe("node service", () => {
  it("shows nodes as the spec does: facts, connected, numbers, peers, the grid without its token", async (t) => {
    const { nodes, nodeLinks, grid, admin } = await nodeCore(t);
    await nodeLinks.join(grid, agentHello("one", { labels: ["zone=a"] }));
    await nodeLinks.join(grid, agentHello("two", { facts: nodeFacts({ node_id: "E2", private_ip: "10.0.0.8" }) }));
    await nodeLinks.connect("default", "two", nodeFacts({ node_id: "E2", private_ip: "10.0.0.8" }), "0.1.0");

    const [one, two] = await nodes.list(admin, "default");
    assert.equal(one?.id, "default/one");
    assert.equal(one?.name, "one");
    assert.equal(one?.node_id, "ENGINE:ONE");
    assert.equal(one?.connected, false);
    assert.equal(two?.connected, true);
    assert.equal(one?.node_number, 1);
    assert.equal(one?.initial_node, true, "node 1 of a grid of initial size 1");
    assert.equal(two?.initial_node, false);
    assert.deepEqual(one?.labels, ["zone=a"]);
    assert.deepEqual(one?.peer_ips, ["10.0.0.8"]);
    assert.deepEqual(two?.peer_ips, ["10.0.0.7"]);
    assert.equal(one?.resource_usage, null);
    assert.equal(one?.docker_version, "20.10.24");
    assert.deepEqual(one?.network_drivers, [{ name: "bridge" }, { name: "host" }]);
    assert.equal(one?.grid.name, "default");
    assert.equal("token" in (one?.grid ?? {}), false);
    for (const field of ["created_at", "updated_at", "last_seen_at"] as const) {
      assert.match(one?.[field] ?? "", /^\d{4}-\d\d-\d\dT/);
    }
    assert.deepEqual(await nodes.show(admin, "default", "two"), two);
  });

  it("applies the role rules: members read, grid admins change and delete, outsiders get 403", async (t) => {
    const { nodes, nodeLinks, grid, users } = await nodeCore(t);
    await nodeLinks.join(grid, agentHello("one"));
    const member = await makePrincipal(users, "member", { grids: { default: "member" } });
    const gridAdmin = await makePrincipal(users, "gadmin", { grids: { default: "grid_admin" } });
    const outsider = await makePrincipal(users, "outsider");

    assert.equal((await nodes.list(member, "default")).length, 1);
    assert.equal((await nodes.show(member, "default", "one")).name, "one");
    await assert.rejects(nodes.list(outsider, "default"), ForbiddenError);
    await assert.rejects(nodes.show(outsider, "default", "one"), ForbiddenError);
    await assert.rejects(nodes.update(member, "default", "one", { labels: [] }), ForbiddenError);
    await assert.rejects(nodes.remove(member, "default", "one"), ForbiddenError);
    // Refused before the input is looked at.
    await assert.rejects(nodes.update(member, "default", "one", { labels: "bad" }), ForbiddenError);

    assert.deepEqual((await nodes.update(gridAdmin, "default", "one", { labels: ["a=1", "b="] })).labels, [
      "a=1",
      "b=",
    ]);
    await nodes.remove(gridAdmin, "default", "one");
    assert.deepEqual(await nodes.list(member, "default"), []);
  });

  it("answers 404 for unknown grids and nodes, and 422 with a field map for bad labels", async (t) => {
    const { nodes, nodeLinks, grid, admin } = await nodeCore(t);
    const { node } = await nodeLinks.join(grid, agentHello("one", { labels: ["keep=me"] }));
    await assert.rejects(nodes.list(admin, "nope"), NotFoundError);
    await assert.rejects(nodes.show(admin, "nope", "one"), NotFoundError);
    await assert.rejects(nodes.show(admin, "default", "two"), NotFoundError);
    await assert.rejects(nodes.show(admin, "default", "../one"), NotFoundError);
    await assert.rejects(nodes.update(admin, "default", "two", { labels: [] }), NotFoundError);
    await assert.rejects(nodes.remove(admin, "default", "two"), NotFoundError);
    await assert.rejects(nodes.remove(admin, "nope", "one"), NotFoundError);

    const fieldsOf = async (input: unknown) => {
      const error = await nodes.update(admin, "default", "one", input).then(
        () => assert.fail("accepted"),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof ValidationError);
      return error.fields;
    };
    assert.deepEqual(Object.keys(await fieldsOf({ labels: ["novalue"] })), ["labels.0"]);
    assert.deepEqual(Object.keys(await fieldsOf({ labels: ["ok=1", "has space=x"] })), ["labels.1"]);
    assert.match((await fieldsOf({ labels: ["a=1", "a=2"] }))["labels.1"] ?? "", /repeats the key a/);
    assert.deepEqual(Object.keys(await fieldsOf({ labels: "a=1" })), ["labels"]);
    assert.deepEqual(Object.keys(await fieldsOf([])), ["body"]);
    assert.deepEqual(Object.keys(await fieldsOf({ labels: Array.from({ length: 101 }, (_, i) => `k${i}=v`) })), [
      "labels",
    ]);
    const unchanged = await nodes.show(admin, "default", "one");
    assert.deepEqual(unchanged.labels, ["keep=me"], "nothing half-written");
    assert.equal(unchanged.updated_at, node.updated_at);
    assert.deepEqual((await nodes.update(admin, "default", "one", {})).labels, ["keep=me"]);
  });

  it("deletes a node with everything it owns, in one revision, and frees its name and number", async (t) => {
    const { store, nodes, nodeLinks, nodeInstances, grid, admin } = await nodeCore(t);
    await nodeLinks.join(grid, agentHello("one"));
    await nodeLinks.connect("default", "one", nodeFacts(), "0.1.0");
    await nodeInstances.setDesired("default", "one", [desiredInstance(1)]);
    await nodeInstances.recordActual("default", "one", [actualInstance(1)], true);
    await nodeLinks.recordEvents("default", "one", []);
    const before = store.currentRevision();
    await nodes.remove(admin, "default", "one");
    assert.equal(store.currentRevision(), before + 1);
    for (const prefix of ["/nodes/", "/node-numbers/", "/node-links/", "/instances/", "/instance-states/"]) {
      assert.equal((await store.range(prefix, { prefix: true })).count, 0, prefix);
    }
    const again = await nodeLinks.join(grid, agentHello("one", { facts: nodeFacts({ node_id: "OTHER" }) }));
    assert.equal(again.node.node_number, 1);
  });

  it("leaves with its grid", async (t) => {
    const { store, nodeLinks, grids, admin } = await nodeCore(t);
    const created = await grids.create(admin, newGridSchema.parse({ name: "other" }));
    await nodeLinks.join(await grids.get(created.name), agentHello("one"));
    await grids.remove(admin, "other");
    assert.equal((await store.range("/nodes/", { prefix: true })).count, 0);
    assert.equal((await store.range("/node-numbers/", { prefix: true })).count, 0);
  });
});
