import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { AdmissionRefusedError } from "../../../src/core/nodes/admission-refused-error.ts";
import { NODE_EVENTS_KEPT } from "../../../src/core/nodes/node-link-service.ts";
import { nodeKey, nodeLinkKey, nodeNumberKey } from "../../../src/core/nodes/node-record.ts";
import { agentHello, nodeCore, nodeFacts, storedValue } from "../../support/node-fixtures.ts";

const refusal = (kind: string) => (error: unknown) => error instanceof AdmissionRefusedError && error.refusal === kind;

describe("node link service", () => {
  it("admits a grid token and joins a node under the lowest free number, keeping only the token's hash", async (t) => {
    const { store, nodeLinks, grid, nodes, admin } = await nodeCore(t);
    assert.equal((await nodeLinks.admitGridToken(grid.token)).name, "default");
    const one = await nodeLinks.join(grid, agentHello("one", { labels: ["zone=a"] }));
    const two = await nodeLinks.join(grid, agentHello("two", { facts: nodeFacts({ node_id: "ENGINE:TWO" }) }));
    assert.deepEqual([one.node.node_number, two.node.node_number], [1, 2]);
    assert.deepEqual(one.node.labels, ["zone=a"]);
    assert.equal(Buffer.from(one.token, "base64url").length, 32);
    const stored = JSON.stringify((await store.get(nodeKey("default", "one")))?.value);
    assert.ok(!stored.includes(one.token));
    assert.ok(stored.includes(createHash("sha256").update(one.token).digest("hex")));
    assert.deepEqual((await store.get(nodeNumberKey("default", 1)))?.value, { name: "one" });

    await nodes.remove(admin, "default", "one");
    const three = await nodeLinks.join(grid, agentHello("three", { facts: nodeFacts({ node_id: "ENGINE:3" }) }));
    assert.equal(three.node.node_number, 1, "the freed number is taken again");
  });

  it("gives concurrent joins distinct numbers", async (t) => {
    const { nodeLinks, grid } = await nodeCore(t);
    const joined = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        nodeLinks.join(grid, agentHello(`n${i}`, { facts: nodeFacts({ node_id: `E${i}` }) })),
      ),
    );
    assert.deepEqual(
      joined.map((j) => j.node.node_number).sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
  });

  it("refuses a wrong or rotated grid token", async (t) => {
    const { nodeLinks, grids, grid, admin } = await nodeCore(t);
    await assert.rejects(nodeLinks.admitGridToken("not-the-token"), refusal("grid_token"));
    await grids.rotateToken(admin, "default");
    await assert.rejects(nodeLinks.admitGridToken(grid.token), refusal("grid_token"));
  });

  it("admits a node token for its node only; a deleted node and a wrong token are told apart", async (t) => {
    const { nodeLinks, nodes, grid, admin } = await nodeCore(t);
    const { token } = await nodeLinks.join(grid, agentHello("one"));
    assert.equal((await nodeLinks.admitNodeToken("default", "one", token)).name, "one");
    await assert.rejects(nodeLinks.admitNodeToken("default", "one", `${token}x`), refusal("node_token"));
    await assert.rejects(nodeLinks.admitNodeToken("default", "other", token), refusal("node_deleted"));
    await assert.rejects(nodeLinks.admitNodeToken("../x", "one", token), refusal("node_deleted"));
    await assert.rejects(nodeLinks.admitNodeToken("default", "a/b", token), refusal("node_deleted"));
    await nodes.remove(admin, "default", "one");
    await assert.rejects(nodeLinks.admitNodeToken("default", "one", token), refusal("node_deleted"));
  });

  it("refuses a taken name from another engine; the same engine takes its node over with a new token", async (t) => {
    const { nodeLinks, grid } = await nodeCore(t);
    const first = await nodeLinks.join(grid, agentHello("one", { labels: ["a=1"] }));
    await assert.rejects(
      nodeLinks.join(grid, agentHello("one", { facts: nodeFacts({ node_id: "ENGINE:OTHER" }) })),
      (error: unknown) => refusal("name_taken")(error) && /another --name/.test((error as Error).message),
    );
    const again = await nodeLinks.join(grid, agentHello("one", { labels: ["b=2"] }));
    assert.equal(again.node.node_number, first.node.node_number);
    assert.deepEqual(again.node.labels, ["a=1"], "labels stay the node's");
    assert.notEqual(again.token, first.token);
    await assert.rejects(nodeLinks.admitNodeToken("default", "one", first.token), refusal("node_token"));
    assert.equal((await nodeLinks.admitNodeToken("default", "one", again.token)).name, "one");
  });

  it("records a connect as a leased link record and a disconnect as last seen", async (t) => {
    const { store, nodeLinks, grid } = await nodeCore(t);
    const { node } = await nodeLinks.join(grid, agentHello("one"));
    const link = await nodeLinks.connect("default", "one", nodeFacts({ docker_version: "99.0" }), "0.1.5");
    const kv = await store.get(nodeLinkKey("default", "one"));
    assert.ok(kv && kv.lease === link.leaseId && kv.lease !== 0);
    const connected = await storedValue<{ facts: { docker_version: string }; agent_version: string }>(
      store,
      nodeKey("default", "one"),
    );
    assert.equal(connected.facts.docker_version, "99.0");
    assert.equal(connected.agent_version, "0.1.5");

    // A lease that lapsed (a stalled master) is replaced on the next keep-alive.
    await store.revokeLease(link.leaseId);
    assert.equal(await store.get(nodeLinkKey("default", "one")), undefined);
    await nodeLinks.keepAlive(link);
    assert.ok(await store.get(nodeLinkKey("default", "one")));

    await nodeLinks.disconnect(link);
    assert.equal(await store.get(nodeLinkKey("default", "one")), undefined);
    const after = await storedValue<{ last_seen_at: string }>(store, nodeKey("default", "one"));
    assert.ok(after.last_seen_at >= node.last_seen_at);
    await nodeLinks.disconnect(link); // twice is harmless
  });

  it("refuses to connect a node that was deleted", async (t) => {
    const { nodeLinks, nodes, grid, admin, store } = await nodeCore(t);
    await nodeLinks.join(grid, agentHello("one"));
    await nodes.remove(admin, "default", "one");
    await assert.rejects(nodeLinks.connect("default", "one", nodeFacts(), "0.1.0"), refusal("node_deleted"));
    assert.equal(await store.get(nodeLinkKey("default", "one")), undefined);
  });

  it("keeps the newest container events and the latest usage", async (t) => {
    const { store, nodeLinks, grid } = await nodeCore(t);
    await nodeLinks.join(grid, agentHello("one"));
    const event = (i: number) => ({
      instance: "default/shop/web/1",
      container_id: `c${i}`,
      action: "start",
      exit_code: null,
      time: new Date(i).toISOString(),
    });
    await nodeLinks.recordEvents("default", "one", [event(0), event(1)]);
    await nodeLinks.recordEvents(
      "default",
      "one",
      Array.from({ length: NODE_EVENTS_KEPT }, (_, i) => event(i + 2)),
    );
    const { events } = await storedValue<{ events: { container_id: string }[] }>(store, "/node-events/default/one");
    assert.equal(events.length, NODE_EVENTS_KEPT);
    assert.equal(events[0]?.container_id, "c2");
    await nodeLinks.recordEvents("default", "gone", [event(0)]);
    assert.equal(await store.get("/node-events/default/gone"), undefined);

    const usage = {
      memory: { used: 1, cached: 2, buffers: 3, total: 10 },
      load: { "1m": 0.1, "5m": 0.2, "15m": 0.3 },
      filesystem: { name: "/var/lib/docker", used: 5, total: 50 },
      cpu: { usage_pct: 12.5 },
    };
    await nodeLinks.recordUsage("default", "one", usage);
    assert.deepEqual(
      (await storedValue<{ resource_usage: unknown }>(store, nodeKey("default", "one"))).resource_usage,
      usage,
    );
  });
});
